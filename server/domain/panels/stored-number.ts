import { z } from "zod";

/** JSON stores a non-finite number (NaN, an infinity) as null; read back it is NaN again, as the type says. */
export const ZStoredNumber = z.union([z.number(), z.null().transform(() => Number.NaN)]);
