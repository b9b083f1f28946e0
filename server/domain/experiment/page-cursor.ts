import { z } from "zod";

/**
 * Keyset cursors for newest-first lists (runs, experiments): the last row's creation time and id,
 * opaque to the client (base64url JSON). A page after the cursor holds the rows created before it,
 * ties broken by id, so a list read while rows are added never repeats or skips one.
 */
export type PageCursor = { createdAt: Date; id: string };

const ZCursorJson = z.strictObject({ t: z.iso.datetime(), id: z.string().min(1).max(100) });

export function encodeCursor(row: PageCursor): string {
  return Buffer.from(JSON.stringify({ t: row.createdAt.toISOString(), id: row.id })).toString("base64url");
}

/** The cursor, or null when the text is not one this server handed out. */
export function decodeCursor(text: string): PageCursor | null {
  if (text.length > 300 || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const cursor = ZCursorJson.safeParse(parsed);
  return cursor.success ? { createdAt: new Date(cursor.data.t), id: cursor.data.id } : null;
}

/** Prisma's `where` for the rows after the cursor in (createdAt desc, id desc) order. */
export function afterCursor(cursor: PageCursor | null | undefined) {
  if (!cursor) return {};
  return {
    OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }],
  };
}
