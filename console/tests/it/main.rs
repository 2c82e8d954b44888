//! The console's integration tests: an in-process demo of the seed scenario, served on
//! loopback and driven over HTTP as the page drives it, with vSphere read back over SOAP
//! by a second client. The clock is paused and stepped, so each sample is a step, not a
//! wait.

mod support;

mod api;
mod story;
