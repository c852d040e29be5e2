/**
 * The web console's style sheet.
 *
 * @module
 */

/** `GET /ui/style.css`. */
export const STYLE_CSS = `
:root { color-scheme: light; font-family: system-ui, sans-serif; color: #1b1b1b; background: #fafafa; }
body { margin: 0; }
header { background: #20303f; color: #fff; padding: 0.5rem 1rem; }
header a, header a:visited { color: #fff; }
.brand { font-weight: bold; text-decoration: none; margin-right: 1rem; }
main { padding: 1rem; max-width: 72rem; }
h1 { font-size: 1.4rem; margin: 0.5rem 0; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 0.4rem; }
table { border-collapse: collapse; margin: 0.3rem 0; }
th, td { text-align: left; padding: 0.25rem 0.7rem; border-bottom: 1px solid #d0d0d0; }
th { background: #eceff3; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; }
dt { font-weight: bold; }
dd { margin: 0; }
pre { background: #f0f0f0; padding: 0.6rem; overflow: auto; max-height: 28rem; border: 1px solid #ccc; }
button { margin: 0 0.3rem 0.3rem 0; padding: 0.3rem 0.8rem; }
button:focus, a:focus, input:focus { outline: 2px solid #005fcc; outline-offset: 1px; }
.state-running { color: #0b6b0b; }
.state-paused { color: #8a5a00; }
.state-shut-off { color: #555; }
#error:not(:empty) { position: fixed; bottom: 1rem; right: 1rem; max-width: 40rem; background: #fde8e8;
  color: #7a0000; border: 1px solid #b00; padding: 0.6rem 1rem; }
#status { min-height: 1.2rem; }
#offers:not(:empty) { border: 1px solid #b35900; padding: 0.4rem 0.8rem; margin: 0.4rem 0; }
#shutdown-wait { width: 5rem; }
label { display: block; margin: 0.4rem 0; }
#filters fieldset { display: flex; flex-wrap: wrap; gap: 0 1.2rem; border: 1px solid #ccc; }
#filters label.filter { margin: 0.2rem 0; font-family: monospace; }
#charts { display: flex; flex-wrap: wrap; gap: 1rem; }
#charts figure { margin: 0; }
#charts canvas { border: 1px solid #ccc; display: block; }
#terminal { max-width: 100%; overflow-x: auto; margin-top: 0.4rem; }
#screen { max-width: 100%; margin-top: 0.4rem; }
#screen canvas { max-width: 100%; }
textarea { font-family: monospace; display: block; max-width: 100%; }
#undefine:not(:empty) { border: 1px solid #b00; padding: 0.4rem 0.8rem; margin: 0.4rem 0; }
`;
