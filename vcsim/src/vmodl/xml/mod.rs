//! The vmodl XML codec both SOAP sides share: namespace-aware parsing into an [`Element`]
//! tree, decoding elements into [`Value`](super::Value)s, and writing values with `xsi:type`
//! where the WSDL says `anyType`. Envelopes and faults are the server's (`vcsim::soap`) and
//! the client's (`vic::vsphere`) business.

pub mod decode;
mod parse;
mod write;

pub use parse::{Element, MAX_DEPTH, ParseError, SOAPENV_NS, XSD_NS, XSI_NS, parse_document};
pub use write::{escape_attr, escape_text, write_value};
