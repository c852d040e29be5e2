/**
 * The web console's one HTML page: a shell the script (`app_js.ts`) fills. It holds no inline
 * script or style, so the Content-Security-Policy can allow `'self'` only.
 *
 * @module
 */

/**
 * `GET /`, with the nonce its answer's Content-Security-Policy admits for the `<style>`
 * elements the serial console's terminal makes.
 */
export function indexHtml(styleNonce: string): string {
  if (!/^[A-Za-z0-9+/=]+$/.test(styleNonce)) throw new RangeError("a nonce is base64");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="evirt-style-nonce" content="${styleNonce}">
<title>evirt</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/style.css">
<script type="module" src="/ui/app.js"></script>
</head>
<body>
<header>
<nav aria-label="main"><a href="#/" class="brand">evirt</a> <span id="who"></span>
<button type="button" id="logout" hidden>Log out</button></nav>
</header>
<main id="main">
<p id="loading">Loading…</p>
<noscript><p>The evirt console needs JavaScript.</p></noscript>
</main>
<div id="error" role="alert" aria-live="assertive"></div>
</body>
</html>
`;
}
