"""Live captions and transcripts: the speech engine, the live caption pipeline, transcripts."""
