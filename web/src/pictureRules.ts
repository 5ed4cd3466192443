// Profile pictures on the client: the files worth sending (the server's limits, docs/api.md),
// and the server's refusals in words for people. Pure: tested in test/picture.test.ts.

export const PICTURE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] as const;
export const PICTURE_ACCEPT = PICTURE_TYPES.join(',');
export const PICTURE_MAX_BYTES = 5 * 1024 * 1024;

const NOT_A_PICTURE = 'That file is not a picture we can use: choose a PNG, JPEG, WebP or GIF.';
const TOO_LARGE = 'That picture is too large: choose one of at most 5 MB.';

/** Why a chosen file would be refused, before sending it; null: send it. */
export function pictureProblem(file: { type: string; size: number }): string | null {
  if (!(PICTURE_TYPES as readonly string[]).includes(file.type)) return NOT_A_PICTURE;
  if (file.size > PICTURE_MAX_BYTES) return TOO_LARGE;
  if (file.size === 0) return 'That file is empty.';
  return null;
}

/** The server's refusal of a picture (an ApiError's fields), said for people. */
export function pictureErrorText(error: { code: string; rule: string | null; message: string }): string {
  switch (error.rule) {
    case 'max_bytes':
      return TOO_LARGE;
    case 'one_of':
    case 'image':
      return NOT_A_PICTURE;
    case 'decodable':
      return 'That picture is damaged or incomplete. Try saving it again, or choose another.';
    case 'max_pixels':
    case 'max_dimensions':
      return 'That picture has too many pixels: choose one of at most 25 megapixels.';
    case 'min_dimensions':
      return 'That picture is too small: choose one at least 32 pixels wide and high.';
    default:
      return error.message;
  }
}
