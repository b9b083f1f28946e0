import { z } from "zod";

/**
 * zod 4 probes `new Function("")` before its first parse to decide whether to compile fast parsers; under the
 * app's Content-Security-Policy (no 'unsafe-eval') that probe is a CSP violation in the browser. The browser
 * parses little (panel definitions, URL state), so it parses without the compiled path. Imported for its
 * effect by the client modules that parse.
 */
z.config({ jitless: true });
