//! The only server-side code that touches SOAP: reading a call out of a request envelope,
//! writing results and faults. The XML codec itself is [`crate::vmodl::xml`].

mod envelope;

pub use crate::vmodl::xml::{
    Element, MAX_DEPTH, ParseError, SOAPENV_NS, XSI_NS, decode, escape_attr, escape_text,
    parse_document, write_value,
};
pub use envelope::{Call, EnvelopeError, fault, fault_in, read_call, response, response_in};
