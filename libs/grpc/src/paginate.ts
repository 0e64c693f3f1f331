import { invalidArgument, type PageSizeOptions, pageSize } from "./validate.js";

/**
 * One page of an already ordered list. The token is the index of the next item, which is enough
 * while the lists are small and held in memory; it is opaque to clients so it can change later.
 * `sizes` are the method's documented default and maximum page sizes (default 100 and 1000).
 */
export function paginate<T>(
  items: readonly T[],
  request: { pageSize: number; pageToken: string },
  sizes: PageSizeOptions = { defaultSize: 100, maxSize: 1000 },
): { items: T[]; nextPageToken: string } {
  const size = pageSize(request.pageSize, "page_size", sizes);
  let start = 0;
  if (request.pageToken !== "") {
    start = Number(Buffer.from(request.pageToken, "base64url").toString());
    if (!Number.isInteger(start) || start < 0) {
      throw invalidArgument(
        "page_token",
        "is not a token this server issued; omit it to start over",
      );
    }
  }
  const end = start + size;
  return {
    items: items.slice(start, end),
    nextPageToken: end < items.length ? Buffer.from(String(end)).toString("base64url") : "",
  };
}
