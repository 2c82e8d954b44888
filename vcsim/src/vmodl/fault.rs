//! vSphere method faults as plain data: the fault type, its message and its fields.
//!
//! Field names follow the WSDL exactly (pyvmomi rejects unknown fields): e.g.
//! `ManagedObjectNotFound.obj`, `InvalidArgument.invalidProperty`,
//! `InvalidPowerState.requestedState/existingState`, `NotAuthenticated.object/privilegeId`.

use super::value::{DataObject, MoRef, Value};

/// A method fault.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// The WSDL fault type (`InvalidLogin`).
    pub ty: &'static str,
    /// The text for `faultstring` and `LocalizedMethodFault.localizedMessage`.
    pub msg: String,
    /// Fault fields in WSDL order.
    pub fields: Vec<(&'static str, Value)>,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.ty, self.msg)
    }
}

impl std::error::Error for Fault {}

impl Fault {
    /// A fault of type `ty` with a message and no fields.
    pub fn new(ty: &'static str, msg: impl Into<String>) -> Fault {
        Fault {
            ty,
            msg: msg.into(),
            fields: Vec::new(),
        }
    }

    /// Adds a field.
    pub fn with(mut self, name: &'static str, v: Value) -> Fault {
        self.fields.push((name, v));
        self
    }

    /// The fault as a data object (for `LocalizedMethodFault.fault` and `<detail>`).
    pub fn to_data(&self) -> DataObject {
        let mut d = DataObject::new(self.ty);
        for (n, v) in &self.fields {
            d = d.with(n, v.clone());
        }
        d
    }

    /// `LocalizedMethodFault { fault, localizedMessage }`, as a task's `info.error` holds it.
    pub fn to_localized(&self) -> Value {
        DataObject::new("LocalizedMethodFault")
            .with("fault", self.to_data().into_value())
            .with("localizedMessage", Value::str(self.msg.clone()))
            .into_value()
    }

    /// `InvalidLogin`: wrong user name or password.
    pub fn invalid_login() -> Fault {
        Fault::new(
            "InvalidLogin",
            "Cannot complete login due to an incorrect user name or password.",
        )
    }

    /// `NotAuthenticated`: a call outside the allow-list without a session.
    pub fn not_authenticated(this: &MoRef) -> Fault {
        Fault::new("NotAuthenticated", "The session is not authenticated.")
            .with("object", Value::moref(this))
            .with("privilegeId", Value::str("System.View"))
    }

    /// `ManagedObjectNotFound`: the reference names no object.
    pub fn not_found(obj: &MoRef) -> Fault {
        Fault::new(
            "ManagedObjectNotFound",
            format!(
                "The object '{}' has already been deleted or has not been completely created",
                obj
            ),
        )
        .with("obj", Value::moref(obj))
    }

    /// `InvalidArgument` naming the offending property.
    pub fn invalid_argument(property: &str) -> Fault {
        Fault::new(
            "InvalidArgument",
            format!("A specified parameter was not correct: {property}"),
        )
        .with("invalidProperty", Value::str(property))
    }

    /// `InvalidProperty`: an unknown property path.
    pub fn invalid_property(name: &str) -> Fault {
        Fault::new("InvalidProperty", format!("Invalid property: {name}"))
            .with("name", Value::str(name))
    }

    /// `DuplicateName`: an entity of that name already exists in the container.
    pub fn duplicate_name(name: &str, object: &MoRef) -> Fault {
        Fault::new(
            "DuplicateName",
            format!("The name '{name}' already exists."),
        )
        .with("name", Value::str(name))
        .with("object", Value::moref(object))
    }

    /// `InvalidPowerState`.
    pub fn invalid_power_state(requested: Option<&str>, existing: &str) -> Fault {
        let f = Fault::new(
            "InvalidPowerState",
            "The attempted operation cannot be performed in the current state",
        );
        let f = match requested {
            Some(r) => f.with(
                "requestedState",
                Value::enumv("VirtualMachinePowerState", r.to_owned()),
            ),
            None => f,
        };
        f.with(
            "existingState",
            Value::enumv("VirtualMachinePowerState", existing.to_owned()),
        )
    }

    /// `InvalidState`.
    pub fn invalid_state(msg: impl Into<String>) -> Fault {
        Fault::new("InvalidState", msg)
    }

    /// `FileNotFound`.
    pub fn file_not_found(file: &str) -> Fault {
        Fault::new("FileNotFound", format!("File {file} was not found"))
            .with("file", Value::str(file))
    }

    /// `MethodNotFound` for a method the receiver does not implement.
    pub fn method_not_found(receiver: &MoRef, method: &str) -> Fault {
        Fault::new(
            "MethodNotFound",
            format!("The method '{method}' is not supported on {}", receiver.ty),
        )
        .with("receiver", Value::moref(receiver))
        .with("method", Value::str(method))
    }

    /// `NotFound`.
    pub fn not_found_plain(msg: impl Into<String>) -> Fault {
        Fault::new("NotFound", msg)
    }

    /// `InsufficientResourcesFault` from admission control.
    pub fn insufficient_resources(msg: impl Into<String>) -> Fault {
        Fault::new("InsufficientResourcesFault", msg)
    }

    /// `RequestCanceled`.
    pub fn request_canceled() -> Fault {
        Fault::new("RequestCanceled", "The task was canceled by a user.")
    }

    /// `InvalidCollectorVersion`.
    pub fn invalid_collector_version() -> Fault {
        Fault::new(
            "InvalidCollectorVersion",
            "The collector version is not valid.",
        )
    }

    /// `NotSupported`.
    pub fn not_supported(msg: impl Into<String>) -> Fault {
        Fault::new("NotSupported", msg)
    }

    /// `InvalidRequest`: a malformed SOAP request.
    pub fn invalid_request(msg: impl Into<String>) -> Fault {
        Fault::new("InvalidRequest", msg)
    }

    /// `MethodDisabled`: the method was disabled through `AuthorizationManager.DisableMethods`.
    pub fn method_disabled(source: &str) -> Fault {
        Fault::new(
            "MethodDisabled",
            format!("The method is disabled by '{source}'"),
        )
        .with("source", Value::str(source))
    }
}
