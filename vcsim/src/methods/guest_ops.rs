//! GuestProcessManager: StartProgramInGuest, ListProcessesInGuest and
//! TerminateProcessInGuest.
//!
//! Guest operations reach a VM only through VMware Tools: the VM must be powered on
//! (`InvalidPowerState` otherwise) and its tools running (`GuestOperationsUnavailable`).
//! The emulated guest runs no real programs. A program the emulator knows finishes at once
//! with exit code 0: `test-vc-api` (what vic-machine runs in the VCH appliance to check its
//! vSphere access) and the VIC tether's built-ins `kill`, `group-kill` and `reload` (how
//! VIC's port layer signals a container and reloads its configuration). Any other program
//! finishes at once with 127, a shell's "command not found". Effects of these programs on the
//! guest (a killed container powering off) are the guest agent's business, not this file's.
//!
//! Processes are kept per VM in `Emulator::guest_processes` (as Tools keeps exited
//! processes for a while, so a client can read their exit codes), bounded per VM.

use super::Args;
use crate::emulator::Emulator;
use crate::soap::Element;
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use std::collections::VecDeque;

/// Processes remembered per VM; the oldest are forgotten first.
pub const PROCESSES_PER_VM: usize = 256;

/// The first pid handed out in a VM (low pids belong to the guest's own system processes).
const FIRST_PID: i64 = 1000;

/// Longest program path and argument string, and most environment entries (Tools' own
/// limits are of this order).
const MAX_PROGRAM_PATH: usize = 4096;
const MAX_ARGUMENTS: usize = 64 * 1024;
const MAX_ENV: usize = 1024;

/// Most pids in one ListProcessesInGuest.
const MAX_PIDS: usize = 10_000;

/// Programs that finish successfully at once.
const KNOWN_PROGRAMS: &[&str] = &[
    "test-vc-api",
    "kill",
    "group-kill",
    "reload",
    "true",
    "/bin/true",
    "/usr/bin/true",
];

/// One process started in a guest.
#[derive(Clone, Debug, PartialEq)]
pub struct GuestProcess {
    /// The program's file name.
    pub name: String,
    /// Process id.
    pub pid: i64,
    /// The guest user it ran as.
    pub owner: String,
    /// Program path and arguments.
    pub cmd_line: String,
    /// Start (virtual clock).
    pub start_ms: i64,
    /// End (virtual clock), once exited.
    pub end_ms: Option<i64>,
    /// Exit code, once exited.
    pub exit_code: Option<i32>,
}

impl GuestProcess {
    /// The process as `GuestProcessInfo`.
    pub fn to_value(&self) -> Value {
        DataObject::new("GuestProcessInfo")
            .with("name", Value::str(self.name.clone()))
            .with("pid", Value::Long(self.pid))
            .with("owner", Value::str(self.owner.clone()))
            .with("cmdLine", Value::str(self.cmd_line.clone()))
            .with("startTime", Value::DateTime(self.start_ms))
            .with_opt("endTime", self.end_ms.map(Value::DateTime))
            .with_opt("exitCode", self.exit_code.map(Value::Int))
            .into_value()
    }
}

/// The processes of one VM.
#[derive(Clone, Debug, Default)]
pub struct GuestProcessTable {
    next_pid: i64,
    processes: VecDeque<GuestProcess>,
}

impl GuestProcessTable {
    /// Records a process (its `pid` is assigned here) and returns the pid.
    pub fn start(&mut self, mut p: GuestProcess) -> i64 {
        self.next_pid = self.next_pid.max(FIRST_PID);
        p.pid = self.next_pid;
        self.next_pid += 1;
        self.processes.push_back(p);
        while self.processes.len() > PROCESSES_PER_VM {
            self.processes.pop_front();
        }
        self.next_pid - 1
    }

    /// The remembered processes, oldest first.
    pub fn processes(&self) -> impl Iterator<Item = &GuestProcess> {
        self.processes.iter()
    }

    /// A process by pid.
    pub fn get(&self, pid: i64) -> Option<&GuestProcess> {
        self.processes.iter().find(|p| p.pid == pid)
    }
}

/// The exit code a program finishes with.
pub fn exit_code_of(program_path: &str) -> i32 {
    if KNOWN_PROGRAMS.contains(&program_path) {
        0
    } else {
        127
    }
}

/// The file name of a program path (Unix or Windows separators).
fn program_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// `GuestOperationsUnavailable`.
fn unavailable() -> Fault {
    Fault::new(
        "GuestOperationsUnavailable",
        "The guest operations agent could not be contacted.",
    )
}

/// The target VM, checked for guest operations: powered on, with Tools running.
fn guest_vm(emu: &Emulator, args: &Args<'_>) -> Result<MoRef, Fault> {
    let vm = args.moref("vm")?;
    if vm.ty != "VirtualMachine" {
        return Err(Fault::invalid_argument("vm"));
    }
    emu.inv.get(&vm)?;
    // Guest credentials are the guest's to check; the emulated guests (like VIC's tether)
    // accept any, but the parameter itself is required.
    args.element("auth")
        .ok_or_else(|| Fault::invalid_argument("auth"))?;
    let state = emu.power_state(&vm)?;
    if state != "poweredOn" {
        return Err(Fault::invalid_power_state(None, &state));
    }
    let tools = emu
        .inv
        .prop(&vm, "guest")
        .and_then(|g| g.field("toolsRunningStatus"))
        .and_then(Value::as_str);
    if tools != Some("guestToolsRunning") {
        return Err(unavailable());
    }
    Ok(vm)
}

/// The guest user of the `auth` parameter (`root` when it names none).
fn owner(auth: Option<&Element>) -> String {
    match auth.and_then(|a| a.child_text("username")) {
        Some(u) if !u.is_empty() && u.len() <= 256 => u.to_owned(),
        _ => "root".to_owned(),
    }
}

/// `StartProgramInGuest(vm, auth, spec)`: returns the new process's pid.
pub fn start_program(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let vm = guest_vm(emu, args)?;
    let spec = args
        .element("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let path = spec.child_text("programPath").unwrap_or("");
    if path.is_empty() || path.len() > MAX_PROGRAM_PATH {
        return Err(Fault::invalid_argument("spec.programPath"));
    }
    let arguments = spec.child_text("arguments").unwrap_or("");
    if arguments.len() > MAX_ARGUMENTS {
        return Err(Fault::invalid_argument("spec.arguments"));
    }
    if spec.children_named("envVariables").count() > MAX_ENV {
        return Err(Fault::invalid_argument("spec.envVariables"));
    }
    let now = emu.clock.now_ms();
    let cmd_line = if arguments.is_empty() {
        format!("\"{path}\"")
    } else {
        format!("\"{path}\" {arguments}")
    };
    let process = GuestProcess {
        name: program_name(path).to_owned(),
        pid: 0,
        owner: owner(args.element("auth")),
        cmd_line,
        start_ms: now,
        end_ms: Some(now),
        exit_code: Some(exit_code_of(path)),
    };
    // Tables of VMs that are gone are dropped, so the map stays as large as the inventory.
    let inv = &emu.inv;
    emu.guest_processes
        .retain(|k, _| inv.contains(&MoRef::new("VirtualMachine", k.clone())));
    let pid = emu
        .guest_processes
        .entry(vm.value.clone())
        .or_default()
        .start(process);
    Ok(Some(Value::Long(pid)))
}

/// `ListProcessesInGuest(vm, auth, pids?)`: the processes started through the API (all of
/// them when no pid is named; unknown pids are left out).
pub fn list_processes(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let vm = guest_vm(emu, args)?;
    let texts = args.texts("pids");
    if texts.len() > MAX_PIDS {
        return Err(Fault::invalid_argument("pids"));
    }
    let pids = texts
        .iter()
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| Fault::invalid_argument("pids"))
        })
        .collect::<Result<Vec<i64>, Fault>>()?;
    let list = emu
        .guest_processes
        .get(&vm.value)
        .map(|t| {
            t.processes()
                .filter(|p| pids.is_empty() || pids.contains(&p.pid))
                .map(GuestProcess::to_value)
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(Value::array("GuestProcessInfo", list)))
}

/// `TerminateProcessInGuest(vm, auth, pid)`: `GuestProcessNotFound` for an unknown pid; a
/// process that has already exited is left as it is.
pub fn terminate_process(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let vm = guest_vm(emu, args)?;
    let pid = args
        .opt_i64("pid")?
        .ok_or_else(|| Fault::invalid_argument("pid"))?;
    let known = emu
        .guest_processes
        .get(&vm.value)
        .is_some_and(|t| t.get(pid).is_some());
    if !known {
        return Err(Fault::new(
            "GuestProcessNotFound",
            format!("The process {pid} was not found in the guest."),
        )
        .with("pid", Value::Long(pid)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(name: &str) -> GuestProcess {
        GuestProcess {
            name: name.into(),
            pid: 0,
            owner: "root".into(),
            cmd_line: format!("\"{name}\""),
            start_ms: 5,
            end_ms: Some(5),
            exit_code: Some(0),
        }
    }

    #[test]
    fn pids_increase_and_tables_are_bounded() {
        let mut t = GuestProcessTable::default();
        assert_eq!(t.start(proc("a")), FIRST_PID);
        assert_eq!(t.start(proc("b")), FIRST_PID + 1);
        for _ in 0..PROCESSES_PER_VM {
            t.start(proc("c"));
        }
        assert_eq!(t.processes().count(), PROCESSES_PER_VM);
        assert!(
            t.get(FIRST_PID).is_none(),
            "the oldest process is forgotten"
        );
        assert!(t.get(FIRST_PID + PROCESSES_PER_VM as i64 + 1).is_some());
    }

    #[test]
    fn known_programs_succeed_and_others_are_not_found() {
        assert_eq!(exit_code_of("test-vc-api"), 0);
        assert_eq!(exit_code_of("kill"), 0);
        assert_eq!(exit_code_of("group-kill"), 0);
        assert_eq!(exit_code_of("/usr/bin/no-such-tool"), 127);
        assert_eq!(program_name("/usr/bin/ls"), "ls");
        assert_eq!(program_name("C:\\Windows\\cmd.exe"), "cmd.exe");
        assert_eq!(program_name("kill"), "kill");
    }

    #[test]
    fn process_info_has_wsdl_fields() {
        let mut p = proc("test-vc-api");
        p.pid = 1000;
        let v = p.to_value();
        assert_eq!(v.xsi_type(), "GuestProcessInfo");
        assert_eq!(v.field("pid"), Some(&Value::Long(1000)));
        assert_eq!(v.field("exitCode"), Some(&Value::Int(0)));
        assert_eq!(v.field("endTime"), Some(&Value::DateTime(5)));
    }

    use super::super::search_index::harness::{H, mo};
    use crate::config::Flavor;

    fn spec(program: &str, args: &str) -> String {
        format!(
            "<auth xsi:type=\"NamePasswordAuthentication\"><interactiveSession>false</interactiveSession>\
             <username></username><password></password></auth>\
             <spec xsi:type=\"GuestProgramSpec\"><programPath>{program}</programPath><arguments>{args}</arguments></spec>"
        )
    }

    #[test]
    fn programs_run_and_report_exit_codes() {
        let mut h = H::new(Flavor::VirtualCenter);
        let pm = h.emu.refs.guest_process_manager.clone();
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        let body = format!(
            "{}{}",
            mo("vm", &vm),
            spec("test-vc-api", "https://vc.example/sdk")
        );
        let pid = h.call("StartProgramInGuest", &pm, &body).unwrap().unwrap();
        assert_eq!(pid, Value::Long(FIRST_PID));
        let body = format!("{}{}", mo("vm", &vm), spec("/bin/no-such", ""));
        let other = h.call("StartProgramInGuest", &pm, &body).unwrap().unwrap();
        assert_eq!(other, Value::Long(FIRST_PID + 1));

        let auth = "<auth xsi:type=\"NamePasswordAuthentication\"><interactiveSession>false</interactiveSession><username>u</username><password>p</password></auth>";
        let body = format!("{}{auth}<pids>{FIRST_PID}</pids>", mo("vm", &vm));
        let list = h.call("ListProcessesInGuest", &pm, &body).unwrap().unwrap();
        let p = &list.items()[0];
        assert_eq!(list.items().len(), 1);
        assert_eq!(p.field("exitCode"), Some(&Value::Int(0)));
        assert_eq!(p.field("name").and_then(Value::as_str), Some("test-vc-api"));
        assert_eq!(
            p.field("cmdLine").and_then(Value::as_str),
            Some("\"test-vc-api\" https://vc.example/sdk")
        );
        let body = format!("{}{auth}", mo("vm", &vm));
        let all = h.call("ListProcessesInGuest", &pm, &body).unwrap().unwrap();
        assert_eq!(all.items()[1].field("exitCode"), Some(&Value::Int(127)));

        let body = format!("{}{auth}<pid>{FIRST_PID}</pid>", mo("vm", &vm));
        h.call("TerminateProcessInGuest", &pm, &body).unwrap();
        let body = format!("{}{auth}<pid>5</pid>", mo("vm", &vm));
        assert_eq!(
            h.call("TerminateProcessInGuest", &pm, &body)
                .unwrap_err()
                .ty,
            "GuestProcessNotFound"
        );
    }

    #[test]
    fn guest_operations_need_a_running_guest_with_tools() {
        let mut h = H::new(Flavor::VirtualCenter);
        let pm = h.emu.refs.guest_process_manager.clone();
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        h.emu
            .inv
            .update(&vm, |o| {
                let g = o
                    .props
                    .get_mut("guest")
                    .and_then(Value::as_data_mut)
                    .unwrap();
                g.set("toolsRunningStatus", Value::str("guestToolsNotRunning"));
            })
            .unwrap();
        let body = format!("{}{}", mo("vm", &vm), spec("kill", "SIGTERM"));
        assert_eq!(
            h.call("StartProgramInGuest", &pm, &body).unwrap_err().ty,
            "GuestOperationsUnavailable"
        );
        h.task("PowerOffVM_Task", &vm, "").unwrap();
        assert_eq!(
            h.call("StartProgramInGuest", &pm, &body).unwrap_err().ty,
            "InvalidPowerState"
        );
        let body = format!(
            "{}{}",
            mo("vm", &vm),
            "<spec><programPath>kill</programPath></spec>"
        );
        assert_eq!(
            h.call("StartProgramInGuest", &pm, &body).unwrap_err().ty,
            "InvalidArgument"
        );
    }
}
