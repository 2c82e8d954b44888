//! A small vSphere SOAP client. Being written.
