"""A transcript as WebVTT, SubRip and text, checked against the formats' own examples and read back
by FFmpeg's WebVTT and SubRip demuxers (through PyAV), a parser of its own."""

from __future__ import annotations

import io
import zlib

import av
import pytest

from parley.captions import formats
from parley.captions.formats import Cue
from parley.media import subtitles

pytestmark = pytest.mark.unit

# The W3C WebVTT spec's first example (s1.1, "A simple caption file"), its opening cues.
W3C_EXAMPLE = """WEBVTT

00:11.000 --> 00:13.000
<v Roger Bingham>We are in New York City

00:13.000 --> 00:16.000
<v Roger Bingham>We're actually at the Lucern Hotel, just down the street

00:16.000 --> 00:18.000
<v Roger Bingham>from the American Museum of Natural History
"""
W3C_CUES = [
    Cue(11.0, 13.0, "Roger Bingham", "We are in New York City"),
    Cue(13.0, 16.0, "Roger Bingham", "We're actually at the Lucern Hotel, just down the street"),
    Cue(16.0, 18.0, "Roger Bingham", "from the American Museum of Natural History"),
]

# The SubRip format's usual example (its second to fourth blocks, numbered from 1 here: the
# first holds a line break, which a caption line never does).
SRT_EXAMPLE = """1
00:02:19,482 --> 00:02:21,609
Very good, Lieutenant.

2
00:03:13,336 --> 00:03:15,167
We made it.

3
00:03:18,608 --> 00:03:20,371
I'm... I'm sorry.
"""
SRT_CUES = [
    Cue(139.482, 141.609, "", "Very good, Lieutenant."),
    Cue(193.336, 195.167, "", "We made it."),
    Cue(198.608, 200.371, "", "I'm... I'm sorry."),
]


def _read_back(text: str, fmt: str) -> list[tuple[float, float, str]]:
    """The cues FFmpeg's demuxer finds: start and end in seconds, and the raw cue text."""
    found = []
    with av.open(io.BytesIO(text.encode()), format=fmt) as container:
        stream = container.streams[0]
        assert stream.time_base is not None
        for packet in container.demux(stream):
            if packet.size and packet.pts is not None:
                start = float(packet.pts * stream.time_base)
                found.append(
                    (
                        start,
                        start + float(packet.duration * stream.time_base),
                        bytes(packet).decode(),
                    )
                )
    return found


def test_webvtt_matches_the_w3c_example() -> None:
    written = formats.to_webvtt(W3C_CUES)
    assert written.startswith(
        "WEBVTT\n\n00:00:11.000 --> 00:00:13.000\n<v Roger Bingham>We are in New York City</v>\n\n"
    )
    ours, theirs = _read_back(written, "webvtt"), _read_back(W3C_EXAMPLE, "webvtt")
    # The same cues; ours close the voice span, which the example leaves open (both are valid).
    assert [(s, e, t.removesuffix("</v>")) for s, e, t in ours] == theirs
    assert len(ours) == 3


def test_webvtt_escapes_names_and_text_and_strips_controls() -> None:
    cue = Cue(1.0, 2.5, "Ann <A&B>", "Tom & Jerry <3 --> the\nend\x07\x1b")
    written = formats.to_webvtt([cue])
    assert written == (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n"
        "<v Ann &lt;A&amp;B&gt;>Tom &amp; Jerry &lt;3 --&gt; the end</v>\n"
    )
    [(start, end, text)] = _read_back(written, "webvtt")  # still one cue: "-->" did not split it
    assert (start, end) == (1.0, 2.5)
    assert text == "<v Ann &lt;A&amp;B&gt;>Tom &amp; Jerry &lt;3 --&gt; the end</v>"


def test_webvtt_timestamps_have_hours_and_sort_and_a_positive_length() -> None:
    cues = [Cue(3725.4567, 3725.4567, "", "later"), Cue(0.0004, 1.0, "", "first")]
    written = formats.to_webvtt(cues)
    assert "00:00:00.000 --> 00:00:01.000\nfirst\n" in written
    # WebVTT s4.2.3: an end after the start, even for a cue of no length.
    assert "01:02:05.457 --> 01:02:05.458\nlater\n" in written
    assert [t for _, _, t in _read_back(written, "webvtt")] == ["first", "later"]


def test_srt_matches_the_usual_example() -> None:
    assert formats.to_srt(SRT_CUES) == SRT_EXAMPLE
    assert _read_back(formats.to_srt(SRT_CUES), "srt") == [
        (pytest.approx(c.start_s), pytest.approx(c.end_s), c.text) for c in SRT_CUES
    ]


def test_srt_names_the_speaker_and_keeps_each_cue_on_one_line() -> None:
    cues = [Cue(0.5, 1.25, "Ann", "Hello\r\nthere"), Cue(2.0, 3.0, "Bob", "Hi <b>")]
    assert formats.to_srt(cues) == (
        "1\n00:00:00,500 --> 00:00:01,250\nAnn: Hello there\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\nBob: Hi <b>\n"
    )
    assert [t for _, _, t in _read_back(formats.to_srt(cues), "srt")] == [
        "Ann: Hello there",
        "Bob: Hi <b>",
    ]


def test_text_transcripts() -> None:
    cues = [Cue(2.0, 3.0, "Bob", "  Fine,\tthanks. "), Cue(0.0, 1.5, "Ann", "How are you?")]
    assert formats.to_text(cues) == "Ann: How are you?\nBob: Fine, thanks.\n"
    assert formats.text_only(cues) == "How are you? Fine, thanks."
    assert formats.text_only([Cue(0, 1, "Ann", " \x00 ")]) == ""
    assert formats.to_text([]) == formats.text_only([]) == ""


def test_an_hls_segment_holds_the_cues_overlapping_it_with_its_timestamp_map() -> None:
    cues = [
        Cue(0.5, 1.5, "Ann", "before"),
        Cue(2.9, 3.2, "Bob", "spans"),
        Cue(3.5, 3.9, "Cy", "inside"),
        Cue(4.0028, 5.0, "Di", "after"),
    ]
    text = formats.webvtt_segment(cues, 3.0026667, 4.0026667, 1.0026667)
    # RFC 8216 s3.5: LOCAL (cue time, ms) and MPEGTS (90 kHz) name the same instant; the
    # segment starts 2 s of audio after its run's decode clock starts.
    spans, inside = "<v Bob>spans</v>", "<v Cy>inside</v>"
    assert text == (
        "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:90270,LOCAL:00:00:03.003\n\n"
        # An identifier (the same in each segment repeating the cue) lets players drop repeats.
        f"2900-3200-{zlib.crc32(spans.encode()):08x}\n00:00:02.900 --> 00:00:03.200\n{spans}\n\n"
        f"3500-3900-{zlib.crc32(inside.encode()):08x}\n00:00:03.500 --> 00:00:03.900\n{inside}\n\n"
    )
    assert [t for _, _, t in _read_back(text, "webvtt")] == ["<v Bob>spans</v>", "<v Cy>inside</v>"]
    empty = formats.webvtt_segment([], 0.0, 1.0, 0.0)
    assert empty == "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n"
    # The map's LOCAL is rounded up to the millisecond, so MPEGTS stays positive (RFC 8216
    # s3.5: a 33-bit timestamp) for a run's first segment, which starts at decode time 0.
    first_of_run = formats.webvtt_segment([], 5.0133333, 6.016, 0.0)
    assert first_of_run.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:60,LOCAL:00:00:05.014\n")


@pytest.mark.parametrize(
    ("start_s", "end_s", "media_start_s"),
    [(0.0, 1.0026667, 0.0), (3.0026667, 4.0053333, 1.0026667), (7265.1234, 7266.2, 12.5)],
)
def test_the_hls_writer_writes_the_same_segments(
    start_s: float, end_s: float, media_start_s: float
) -> None:
    # media/ keeps its own copy of these rules (it may not import captions/): the same text.
    lines = [
        (start_s - 0.4, start_s + 0.2, "Ann & co", "<hello>"),
        (start_s + 0.3, end_s + 1, "", "words\nand\x1bmore"),
        (end_s, end_s + 1, "Bob", "not yet"),
    ]
    ours = formats.webvtt_segment([Cue(*line) for line in lines], start_s, end_s, media_start_s)
    theirs = subtitles.segment_text(
        [subtitles.Cue(*line) for line in lines], start_s, end_s, media_start_s
    )
    assert ours == theirs
