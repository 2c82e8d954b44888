//! The bundled DejaVu Sans, registered with plotters as `sans-serif` once per process, so
//! drawing needs no system fonts or fontconfig.

use std::sync::OnceLock;

use plotters::style::FontStyle;

use crate::ReportError;

/// The font family charts use.
pub(crate) const FAMILY: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Registers the bundled font (first call only; later calls return the first outcome).
pub(crate) fn ensure_registered() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "the bundled DejaVu Sans is not a valid font".to_owned())
        })
        .clone()
        .map_err(ReportError::Font)
}

#[cfg(test)]
mod tests {
    #[test]
    fn registers_once() {
        assert!(super::ensure_registered().is_ok());
        assert!(super::ensure_registered().is_ok());
    }
}
