//! The page, bundled into the binary: no CDN, no file beside the executable, so the console
//! works offline in any classroom.

/// `GET /`.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");
/// `GET /assets/console.js`: the console's state, event stream, controls and panels;
/// hand-written, no library.
pub const CONSOLE_JS: &str = include_str!("../assets/console.js");
/// `GET /assets/console-draw.js`: DOM helpers, formatting and the SVG chart.
pub const CONSOLE_DRAW_JS: &str = include_str!("../assets/console-draw.js");
/// `GET /assets/console.css`.
pub const CONSOLE_CSS: &str = include_str!("../assets/console.css");
