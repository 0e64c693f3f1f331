// Reads every page of a paginated List* call (bounded, so a server bug cannot loop forever).
const MAX_PAGES = 1000;

export async function allPages<T>(
  fetch: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
): Promise<T[]> {
  const all: T[] = [];
  let token = "";
  for (let page = 0; page < MAX_PAGES; page++) {
    const { items, nextPageToken } = await fetch(token);
    all.push(...items);
    if (nextPageToken === "") return all;
    token = nextPageToken;
  }
  return all;
}
