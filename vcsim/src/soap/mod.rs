//! The only server-side code that touches XML: parsing envelopes namespace-aware, decoding
//! arguments, writing results and faults with `xsi:type` where the WSDL says `anyType`.

pub mod decode;
mod envelope;
mod parse;
mod write;

pub use envelope::{Call, EnvelopeError, fault, read_call, response};
pub use parse::{Element, MAX_DEPTH, ParseError, SOAPENV_NS, XSI_NS, parse_document};
pub use write::{escape_attr, escape_text, write_value};
