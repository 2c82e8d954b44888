//! Typed access to a call's parameters, with `InvalidArgument` naming what is missing or
//! malformed.

use crate::soap::{Element, decode};
use crate::vmodl::{Fault, MoRef, Value};

/// A call's parameter elements.
#[derive(Clone, Copy, Debug)]
pub struct Args<'a> {
    el: &'a Element,
}

impl<'a> Args<'a> {
    /// Wraps the method element.
    pub fn new(el: &'a Element) -> Args<'a> {
        Args { el }
    }

    /// The raw element of parameter `name`.
    pub fn element(&self, name: &str) -> Option<&'a Element> {
        self.el.child(name)
    }

    /// Every element of a repeated parameter.
    pub fn elements(&self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.el.children_named(name)
    }

    /// A required MoRef parameter.
    pub fn moref(&self, name: &str) -> Result<MoRef, Fault> {
        self.opt_moref(name)
            .ok_or_else(|| Fault::invalid_argument(name))
    }

    /// An optional MoRef parameter.
    pub fn opt_moref(&self, name: &str) -> Option<MoRef> {
        self.el.child(name).and_then(decode::moref)
    }

    /// All MoRefs of a repeated parameter.
    pub fn morefs(&self, name: &'a str) -> Vec<MoRef> {
        self.elements(name).filter_map(decode::moref).collect()
    }

    /// A required text parameter.
    pub fn text(&self, name: &str) -> Result<&'a str, Fault> {
        self.opt_text(name)
            .ok_or_else(|| Fault::invalid_argument(name))
    }

    /// An optional text parameter.
    pub fn opt_text(&self, name: &str) -> Option<&'a str> {
        self.el.child_text(name)
    }

    /// All texts of a repeated parameter.
    pub fn texts(&self, name: &'a str) -> Vec<&'a str> {
        self.el.child_texts(name).collect()
    }

    /// An optional integer parameter (InvalidArgument when present but not a number).
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, Fault> {
        match self.opt_text(name) {
            None => Ok(None),
            Some(t) => t
                .parse()
                .map(Some)
                .map_err(|_| Fault::invalid_argument(name)),
        }
    }

    /// An optional boolean parameter.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, Fault> {
        match self.opt_text(name) {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(_) => Err(Fault::invalid_argument(name)),
        }
    }

    /// A parameter decoded as a generic value.
    pub fn value(&self, name: &str) -> Option<Value> {
        self.el.child(name).map(decode::value)
    }
}
