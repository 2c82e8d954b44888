//! Datastore files: HostDatastoreBrowser.SearchDatastore(SubFolders)_Task and
//! FileManager.MakeDirectory / DeleteDatastoreFile_Task, plus the datastore-path helpers the
//! `/folder` HTTP handler shares.
//!
//! The emulated datastores hold no real file system. What a datastore contains is the union
//! of two sources, computed per call so the two can never disagree:
//! - `Emulator::files`, keyed `"[ds] dir/file"` (file contents uploaded over `/folder`) and
//!   `"[ds] dir/"` (directories made with MakeDirectory);
//! - the files of registered VMs: the `.vmx` named by `config.files.vmPathName` and the
//!   disks their devices are backed by, so every VM has its folder as on a real datastore.
//!
//! Directories also exist implicitly above every file, as folders do on VMFS.

use super::{Args, CallContext, run_task};
use crate::config::Flavor;
use crate::emulator::Emulator;
use crate::soap::{Call, Element};
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use std::collections::BTreeMap;

/// Longest datastore path accepted (`[ds] a/b/c`); far beyond what VMFS allows, and a bound
/// on what a request can make the emulator store.
pub const MAX_DATASTORE_PATH: usize = 2048;

/// Most `matchPattern` entries in one search spec.
const MAX_PATTERNS: usize = 64;

/// Longest single `matchPattern`.
const MAX_PATTERN_LEN: usize = 1024;

/// Normalises the path part of a datastore path: no empty or `.` segments, `..` resolved
/// lexically (never above the datastore root), no leading or trailing `/`.
fn normalize_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

/// Splits `"[ds] a/b"` into `("ds", "a/b")` with the path normalised; `"[ds]"` names the
/// datastore root (`("ds", "")`). `None` when it is not a datastore path, or when it uses
/// `..` (vSphere datastore paths never need to climb, and refusing keeps every key inside
/// its datastore).
pub fn parse_datastore_path(s: &str) -> Option<(String, String)> {
    let s = s.trim();
    if s.len() > MAX_DATASTORE_PATH {
        return None;
    }
    let (ds, path) = s.strip_prefix('[')?.split_once(']')?;
    if ds.is_empty() || path.split('/').any(|seg| seg == "..") {
        return None;
    }
    Some((ds.to_owned(), normalize_path(path.trim_start())))
}

/// The `Emulator::files` key of a file: `"[ds] a/b"` (directories add a trailing `/`). The
/// path is normalised, so `a//b`, `/a/b` and `a/./b` name the same file.
pub fn datastore_key(ds_name: &str, path: &str) -> String {
    format!("[{ds_name}] {}", normalize_path(path))
}

/// The key of a directory.
fn dir_key(ds_name: &str, path: &str) -> String {
    format!("{}/", datastore_key(ds_name, path))
}

/// The datastore path of `rel` on `ds` as clients write it.
fn display_path(ds: &str, rel: &str) -> String {
    if rel.is_empty() {
        format!("[{ds}]")
    } else {
        format!("[{ds}] {rel}")
    }
}

/// One entry of a datastore.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    dir: bool,
    size: i64,
    modified_ms: Option<i64>,
}

impl Node {
    const DIR: Node = Node {
        dir: true,
        size: 0,
        modified_ms: None,
    };
}

/// The contents of one datastore, by normalised relative path (the root, `""`, is implicit).
#[derive(Debug, Default)]
struct Tree {
    nodes: BTreeMap<String, Node>,
}

impl Tree {
    /// Everything on datastore `ds`: stored files and directories, and registered VMs'
    /// files.
    fn of(emu: &Emulator, ds: &str) -> Tree {
        let mut t = Tree::default();
        let prefix = format!("[{ds}] ");
        for (k, bytes) in emu
            .files
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
        {
            let rel = &k[prefix.len()..];
            let modified_ms = emu.file_modified_ms.get(k).copied();
            match rel.strip_suffix('/') {
                Some(dir) => t.add(
                    dir,
                    Node {
                        modified_ms,
                        ..Node::DIR
                    },
                ),
                None => t.add(
                    rel,
                    Node {
                        dir: false,
                        size: bytes.len() as i64,
                        modified_ms,
                    },
                ),
            }
        }
        for o in emu.inv.iter().filter(|o| o.moref.ty == "VirtualMachine") {
            let config = o.get("config");
            let modified = config
                .and_then(|c| c.field("modified"))
                .and_then(|m| match m {
                    Value::DateTime(ms) => Some(*ms),
                    _ => None,
                });
            let vmx = config
                .and_then(|c| c.field("files"))
                .and_then(|f| f.field("vmPathName"));
            let disks = config
                .and_then(|c| c.field("hardware"))
                .and_then(|h| h.field("device"))
                .map(|d| d.items())
                .unwrap_or_default()
                .iter()
                .filter_map(|dev| dev.field("backing").and_then(|b| b.field("fileName")));
            for path in vmx.into_iter().chain(disks).filter_map(Value::as_str) {
                if let Some((d, rel)) = parse_datastore_path(path)
                    && d == ds
                    && !rel.is_empty()
                    && !t.nodes.contains_key(&rel)
                {
                    t.add(
                        &rel,
                        Node {
                            dir: false,
                            size: 0,
                            modified_ms: modified,
                        },
                    );
                }
            }
        }
        // Entries whose change no call recorded (uploads, implicit folders) date from the
        // emulator's start: `datastore.ls -l` dereferences every entry's time.
        for n in t.nodes.values_mut() {
            n.modified_ms.get_or_insert(emu.config.start_ms);
        }
        t
    }

    /// Adds an entry and, implicitly, the directories above it (an existing entry wins).
    fn add(&mut self, rel: &str, node: Node) {
        if rel.is_empty() {
            return;
        }
        let mut end = 0;
        while let Some(i) = rel[end..].find('/') {
            let parent = &rel[..end + i];
            self.nodes.entry(parent.to_owned()).or_insert(Node::DIR);
            end += i + 1;
        }
        self.nodes.entry(rel.to_owned()).or_insert(node);
    }

    /// The entry at `rel` (the root is a directory).
    fn get(&self, rel: &str) -> Option<Node> {
        if rel.is_empty() {
            Some(Node::DIR)
        } else {
            self.nodes.get(rel).copied()
        }
    }

    /// The direct children of directory `dir`, by name, in name order.
    fn children<'a>(&'a self, dir: &str) -> Vec<(&'a str, Node)> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, n)| {
                let name = &k[prefix.len()..];
                (!name.is_empty() && !name.contains('/')).then_some((name, *n))
            })
            .collect()
    }
}

/// `HostDatastoreBrowserSearchSpec.details` (`FileQueryFlags`).
#[derive(Clone, Copy, Debug, Default)]
struct Details {
    file_type: bool,
    file_size: bool,
    modification: bool,
    file_owner: bool,
}

/// The parts of a `HostDatastoreBrowserSearchSpec` the search honours.
#[derive(Clone, Debug, Default)]
struct SearchSpec {
    /// `query[]` by WSDL type (`FolderFileQuery`, `VmDiskFileQuery`, …).
    queries: Vec<String>,
    details: Details,
    case_insensitive: bool,
    patterns: Vec<Vec<Tok>>,
    folders_first: bool,
}

/// A boolean child of a spec element (absent = false).
fn flag(el: &Element, name: &str, what: &str) -> Result<bool, Fault> {
    match el.child_text(name) {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(_) => Err(Fault::invalid_argument(&format!("{what}.{name}"))),
    }
}

impl SearchSpec {
    /// Reads the optional `searchSpec` parameter.
    fn parse(el: Option<&Element>) -> Result<SearchSpec, Fault> {
        let Some(el) = el else {
            return Ok(SearchSpec::default());
        };
        let case_insensitive = flag(el, "searchCaseInsensitive", "searchSpec")?;
        let details = match el.child("details") {
            Some(d) => Details {
                file_type: flag(d, "fileType", "searchSpec.details")?,
                file_size: flag(d, "fileSize", "searchSpec.details")?,
                modification: flag(d, "modification", "searchSpec.details")?,
                file_owner: flag(d, "fileOwner", "searchSpec.details")?,
            },
            None => Details::default(),
        };
        let texts: Vec<&str> = el.child_texts("matchPattern").collect();
        if texts.len() > MAX_PATTERNS || texts.iter().any(|p| p.len() > MAX_PATTERN_LEN) {
            return Err(Fault::invalid_argument("searchSpec.matchPattern"));
        }
        let patterns = texts
            .iter()
            .map(|p| {
                if case_insensitive {
                    compile(&p.to_lowercase())
                } else {
                    compile(p)
                }
            })
            .collect();
        let queries = el
            .children_named("query")
            .take(MAX_PATTERNS)
            .map(|q| q.xsi_type.clone().unwrap_or_else(|| "FileQuery".to_owned()))
            .collect();
        Ok(SearchSpec {
            queries,
            details,
            case_insensitive,
            patterns,
            folders_first: flag(el, "sortFoldersFirst", "searchSpec")?,
        })
    }

    /// Whether an entry is in the results.
    fn wants(&self, name: &str, node: &Node) -> bool {
        if !query_matches(&self.queries, name, node.dir) {
            return false;
        }
        if self.patterns.is_empty() {
            return true;
        }
        let name: Vec<char> = if self.case_insensitive {
            name.to_lowercase().chars().collect()
        } else {
            name.chars().collect()
        };
        self.patterns.iter().any(|p| glob(p, &name))
    }
}

/// The lower-case extension of a file name.
fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Whether an entry satisfies one of the `FileQuery` subtypes (no query: everything), with
/// the file kinds ESXi assigns by extension.
fn query_matches(queries: &[String], name: &str, dir: bool) -> bool {
    if queries.is_empty() {
        return true;
    }
    let ext = extension(name);
    queries.iter().any(|q| match q.as_str() {
        "FileQuery" => true,
        "FolderFileQuery" => dir,
        _ if dir => false,
        "VmConfigFileQuery" => ext == "vmx",
        "TemplateConfigFileQuery" => ext == "vmtx",
        // A disk is its descriptor; ESXi hides the `-flat` extent from disk queries.
        "VmDiskFileQuery" => ext == "vmdk" && !name.ends_with("-flat.vmdk"),
        "VmSnapshotFileQuery" => ext == "vmsn",
        "VmNvramFileQuery" => ext == "nvram",
        "VmLogFileQuery" => ext == "log",
        "FloppyImageFileQuery" => ext == "flp" || ext == "img",
        "IsoImageFileQuery" => ext == "iso",
        _ => false,
    })
}

/// The `FileInfo` subtype for an entry when `details.fileType` asks for types.
fn info_type(name: &str, dir: bool, typed: bool) -> &'static str {
    if dir {
        return "FolderFileInfo";
    }
    if !typed {
        return "FileInfo";
    }
    match extension(name).as_str() {
        "vmx" => "VmConfigFileInfo",
        "vmtx" => "TemplateConfigFileInfo",
        "vmdk" if !name.ends_with("-flat.vmdk") => "VmDiskFileInfo",
        "vmsn" => "VmSnapshotFileInfo",
        "nvram" => "VmNvramFileInfo",
        "log" => "VmLogFileInfo",
        "flp" | "img" => "FloppyImageFileInfo",
        "iso" => "IsoImageFileInfo",
        _ => "FileInfo",
    }
}

/// A `FileInfo` with the fields `details` asks for (a file's contents are known only for
/// uploaded files, and so is its size).
fn file_info(name: &str, node: &Node, d: &Details) -> Value {
    let mut info =
        DataObject::new(info_type(name, node.dir, d.file_type)).with("path", Value::str(name));
    if d.file_size {
        info.set("fileSize", Value::Long(node.size));
    }
    if d.modification
        && let Some(ms) = node.modified_ms
    {
        info.set("modification", Value::DateTime(ms));
    }
    if d.file_owner {
        // ESXi creates datastore files as root.
        info.set("owner", Value::str("root"));
    }
    info.into_value()
}

/// One `HostDatastoreBrowserSearchResults` for folder `dir`.
fn folder_result(
    ds: &MoRef,
    folder_path: String,
    tree: &Tree,
    dir: &str,
    spec: &SearchSpec,
) -> Value {
    let mut entries: Vec<(&str, Node)> = tree
        .children(dir)
        .into_iter()
        .filter(|(name, node)| spec.wants(name, node))
        .collect();
    if spec.folders_first {
        entries.sort_by_key(|(_, n)| !n.dir);
    }
    let files = entries
        .iter()
        .map(|(name, node)| file_info(name, node, &spec.details))
        .collect();
    DataObject::new("HostDatastoreBrowserSearchResults")
        .with("datastore", Value::moref(ds))
        .with("folderPath", Value::str(folder_path))
        .with("file", Value::array("FileInfo", files))
        .into_value()
}

/// `SearchDatastore_Task` / `SearchDatastoreSubFolders_Task(datastorePath, searchSpec?)` on
/// a HostDatastoreBrowser. A malformed path or an unknown datastore is refused at once; a
/// missing folder fails the task with `FileNotFound`, as ESXi reports it. The sub-folder
/// search answers one result per folder, the searched folder first, then its sub-folders
/// depth-first in name order.
pub fn search_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
    recursive: bool,
) -> Result<Option<Value>, Fault> {
    let path = args.text("datastorePath")?.to_owned();
    let (ds_name, rel) =
        parse_datastore_path(&path).ok_or_else(|| invalid_datastore_path(&path))?;
    let spec = SearchSpec::parse(args.element("searchSpec"))?;
    // The browser can search the datastores it lists (all of them for this emulator).
    let ds = emu
        .inv
        .refs(&call.this, "datastore")
        .into_iter()
        .find(|d| emu.inv.lookup(d).is_some_and(|o| o.name() == ds_name))
        .ok_or_else(|| invalid_datastore(&ds_name))?;
    // The task is the datastore's, as vCenter shows searches against the datastore.
    run_task(emu, ctx, call, &ds.clone(), move |emu| {
        let tree = Tree::of(emu, &ds_name);
        match tree.get(&rel) {
            Some(n) if n.dir => {}
            _ => return Err(Fault::file_not_found(&path)),
        }
        let root = folder_result(&ds, path.trim().to_owned(), &tree, &rel, &spec);
        if !recursive {
            return Ok(Some(root));
        }
        let mut results = vec![root];
        // Depth-first, in name order: a stack of directories still to list.
        let mut stack: Vec<String> = subdirs(&tree, &rel).into_iter().rev().collect();
        while let Some(dir) = stack.pop() {
            results.push(folder_result(
                &ds,
                display_path(&ds_name, &dir),
                &tree,
                &dir,
                &spec,
            ));
            stack.extend(subdirs(&tree, &dir).into_iter().rev());
        }
        Ok(Some(Value::array(
            "HostDatastoreBrowserSearchResults",
            results,
        )))
    })
}

/// Most entries `Emulator::file_modified_ms` holds beyond the live files before it drops the
/// records of files that are gone (files removed by code that does not record).
const MODIFIED_SLACK: usize = 64;

/// Records that the stored entry `key` (a `files` key) changed now, on the virtual clock.
pub(crate) fn touch_file(emu: &mut Emulator, key: &str) {
    let now = emu.clock.now_ms();
    emu.file_modified_ms.insert(key.to_owned(), now);
    if emu.file_modified_ms.len() > emu.files.len().saturating_mul(2) + MODIFIED_SLACK {
        let files = &emu.files;
        emu.file_modified_ms.retain(|k, _| files.contains_key(k));
    }
}

/// The relative paths of the sub-directories of `dir`, in name order.
fn subdirs(tree: &Tree, dir: &str) -> Vec<String> {
    tree.children(dir)
        .into_iter()
        .filter(|(_, n)| n.dir)
        .map(|(name, _)| {
            if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            }
        })
        .collect()
}

/// `InvalidDatastorePath`.
fn invalid_datastore_path(path: &str) -> Fault {
    Fault::new(
        "InvalidDatastorePath",
        format!("Invalid datastore path '{path}'."),
    )
    .with("datastorePath", Value::str(path))
}

/// `InvalidDatastore`: no datastore of that name where the call looks.
pub(crate) fn invalid_datastore(name: &str) -> Fault {
    Fault::new("InvalidDatastore", format!("Invalid datastore '{name}'."))
        .with("name", Value::str(name))
}

/// A `FileFault` subtype naming `file`.
fn file_fault(ty: &'static str, msg: String, file: &str) -> Fault {
    Fault::new(ty, msg).with("file", Value::str(file))
}

/// The datastore named `ds_name` where a FileManager call looks: in `datacenter` when given.
/// vCenter requires the datacenter (its datastore names are unique only per datacenter);
/// ESXi has a single one.
fn resolve_datastore(emu: &Emulator, dc: Option<&MoRef>, ds_name: &str) -> Result<MoRef, Fault> {
    let candidates = match dc {
        Some(dc) => {
            emu.inv.get(dc)?;
            if dc.ty != "Datacenter" {
                return Err(Fault::invalid_argument("datacenter"));
            }
            emu.inv.refs(dc, "datastore")
        }
        None if emu.flavor == Flavor::HostAgent => emu.inv.of_type("Datastore"),
        None => return Err(Fault::invalid_argument("datacenter")),
    };
    candidates
        .into_iter()
        .find(|d| emu.inv.lookup(d).is_some_and(|o| o.name() == ds_name))
        .ok_or_else(|| invalid_datastore(ds_name))
}

/// `FileManager.MakeDirectory(name, datacenter?, createParentDirectories?)`:
/// `FileAlreadyExists` when anything is at `name` (also with createParentDirectories, which
/// is why govc's `mkdir -p` ignores that fault), `FileNotFound` when the parent is missing
/// and parents are not to be created.
pub fn make_directory(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?;
    let dc = args.opt_moref("datacenter");
    let parents = args.opt_bool("createParentDirectories")?.unwrap_or(false);
    let (ds_name, rel) = parse_datastore_path(name).ok_or_else(|| invalid_datastore_path(name))?;
    resolve_datastore(emu, dc.as_ref(), &ds_name)?;
    let tree = Tree::of(emu, &ds_name);
    if tree.get(&rel).is_some() {
        return Err(file_fault(
            "FileAlreadyExists",
            format!(
                "Cannot complete the operation because the file or folder {name} already exists"
            ),
            name,
        ));
    }
    // The directories to create: missing ancestors (top-down), then the target.
    let mut create = Vec::new();
    let mut end = 0;
    while let Some(i) = rel[end..].find('/') {
        let ancestor = &rel[..end + i];
        match tree.get(ancestor) {
            Some(n) if n.dir => {}
            Some(_) => {
                return Err(file_fault(
                    "CannotCreateFile",
                    format!("Cannot create directory {name}"),
                    name,
                ));
            }
            None if parents => create.push(ancestor.to_owned()),
            None => return Err(Fault::file_not_found(&display_path(&ds_name, ancestor))),
        }
        end += i + 1;
    }
    create.push(rel.clone());
    if emu.files.len() + create.len() > crate::server::MAX_FILES {
        return Err(file_fault(
            "CannotCreateFile",
            format!("Cannot create directory {name}: the datastore file limit is reached"),
            name,
        ));
    }
    for dir in create {
        let key = dir_key(&ds_name, &dir);
        emu.files.insert(key.clone(), Vec::new());
        touch_file(emu, &key);
    }
    Ok(None)
}

/// A powered-on VM with files at or below `rel` on `ds`: ESXi holds locks on them.
fn running_vm_under(emu: &Emulator, ds: &str, rel: &str) -> bool {
    emu.inv
        .iter()
        .filter(|o| o.moref.ty == "VirtualMachine")
        .any(|o| {
            let on = o
                .get("runtime")
                .and_then(|r| r.field("powerState"))
                .and_then(Value::as_str)
                == Some("poweredOn");
            let path = o
                .get("config")
                .and_then(|c| c.field("files"))
                .and_then(|f| f.field("vmPathName"))
                .and_then(Value::as_str)
                .and_then(parse_datastore_path);
            on && path
                .is_some_and(|(d, p)| d == ds && (p == rel || p.starts_with(&format!("{rel}/"))))
        })
}

/// `FileManager.DeleteDatastoreFile_Task(name, datacenter?)`: removes a file or a whole
/// directory tree. The path and datastore are checked at once; the task fails with
/// `FileNotFound` when nothing is there, `FileLocked` under a running VM, and
/// `CannotDeleteFile` for the datastore root. (The files of a registered VM come from its
/// configuration, so they stay listed until the VM itself is destroyed.)
pub fn delete_file_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?.to_owned();
    let dc = args.opt_moref("datacenter");
    let (ds_name, rel) =
        parse_datastore_path(&name).ok_or_else(|| invalid_datastore_path(&name))?;
    let ds = resolve_datastore(emu, dc.as_ref(), &ds_name)?;
    // The task belongs to the datacenter the call names (to the datastore on ESXi), never to
    // the FileManager, which is not an inventory entity.
    let entity = dc.unwrap_or(ds);
    run_task(emu, ctx, call, &entity, move |emu| {
        let tree = Tree::of(emu, &ds_name);
        let Some(node) = tree.get(&rel) else {
            return Err(Fault::file_not_found(&name));
        };
        if rel.is_empty() {
            return Err(file_fault(
                "CannotDeleteFile",
                format!("Cannot delete file {name}"),
                &name,
            ));
        }
        if running_vm_under(emu, &ds_name, &rel) {
            return Err(file_fault(
                "FileLocked",
                format!("Unable to access file {name} since it is locked"),
                &name,
            ));
        }
        let file = datastore_key(&ds_name, &rel);
        let dir = dir_key(&ds_name, &rel);
        let mut gone: Vec<String> = vec![file];
        if node.dir {
            gone.extend(
                emu.files
                    .range(dir.clone()..)
                    .take_while(|(k, _)| k.starts_with(&dir))
                    .map(|(k, _)| k.clone()),
            );
        }
        for k in gone {
            emu.files.remove(&k);
        }
        Ok(None)
    })
}

/// One element of a compiled `matchPattern`.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// `*`: any run of characters.
    Star,
    /// `?`: one character.
    One,
    /// A literal character.
    Lit(char),
    /// `[a-z]`, `[!x]`: one character in (or not in) a set of ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Compiles a glob as ESXi's file search reads it: `*`, `?` and `[…]` classes (an
/// unterminated `[` is a literal).
fn compile(pattern: &str) -> Vec<Tok> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                // Consecutive stars match the same as one.
                if out.last() != Some(&Tok::Star) {
                    out.push(Tok::Star);
                }
                i += 1;
            }
            '?' => {
                out.push(Tok::One);
                i += 1;
            }
            '[' => match class(&chars[i + 1..]) {
                Some((tok, used)) => {
                    out.push(tok);
                    i += 1 + used;
                }
                None => {
                    out.push(Tok::Lit('['));
                    i += 1;
                }
            },
            c => {
                out.push(Tok::Lit(c));
                i += 1;
            }
        }
    }
    out
}

/// Parses a class body after `[`; returns the token and the characters used (with `]`).
fn class(chars: &[char]) -> Option<(Tok, usize)> {
    let mut i = 0;
    let negated = matches!(chars.first(), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let start = i;
    while i < chars.len() {
        let c = chars[i];
        // A `]` right after the opening is a member, as in POSIX globs.
        if c == ']' && i > start {
            return Some((Tok::Class { negated, ranges }, i + 1));
        }
        if i + 2 < chars.len() && chars[i + 1] == '-' && chars[i + 2] != ']' {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

impl Tok {
    fn matches(&self, c: char) -> bool {
        match self {
            Tok::Star => true,
            Tok::One => true,
            Tok::Lit(l) => *l == c,
            Tok::Class { negated, ranges } => {
                ranges.iter().any(|(a, b)| (*a..=*b).contains(&c)) != *negated
            }
        }
    }
}

/// Whether `name` matches a compiled glob: linear backtracking to the last `*`, so a hostile
/// pattern costs at most `pattern × name` steps.
fn glob(pattern: &[Tok], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(Tok::Star) => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some(t) if t.matches(name[n]) => {
                p += 1;
                n += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pattern[p.min(pattern.len())..]
        .iter()
        .all(|t| *t == Tok::Star)
}

/// Whether a copy or move fits the emulator's datastore bounds.
fn room_for(emu: &Emulator, new_entries: usize, new_bytes: usize, name: &str) -> Result<(), Fault> {
    let stored: usize = emu.files.values().map(Vec::len).sum();
    if emu.files.len() + new_entries > crate::server::MAX_FILES
        || stored + new_bytes > crate::server::MAX_TOTAL_FILE_BYTES
    {
        return Err(file_fault(
            "CannotCreateFile",
            format!("Cannot create {name}: the datastore capacity is reached"),
            name,
        ));
    }
    Ok(())
}

/// The stored entries at or below `rel` on `ds` (the entry itself, then a directory's
/// contents), as (key, path relative to `rel`).
fn entries_below(emu: &Emulator, ds: &str, rel: &str) -> Vec<(String, String)> {
    let file = datastore_key(ds, rel);
    let dir = dir_key(ds, rel);
    let mut out = Vec::new();
    if emu.files.contains_key(&file) {
        out.push((file, String::new()));
    }
    out.extend(
        emu.files
            .range(dir.clone()..)
            .take_while(|(k, _)| k.starts_with(&dir))
            .map(|(k, _)| (k.clone(), k[dir.len()..].to_owned())),
    );
    out
}

/// `CopyDatastoreFile_Task` (`mv == false`) and `MoveDatastoreFile_Task`: a file or a whole
/// directory, within or across datastores. `FileNotFound` for a missing source,
/// `FileAlreadyExists` for an existing destination unless `force`, `FileLocked` when a
/// running VM holds a moved file.
pub fn copy_or_move_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
    mv: bool,
) -> Result<Option<Value>, Fault> {
    let src = args.text("sourceName")?.to_owned();
    let dst = args.text("destinationName")?.to_owned();
    let src_dc = args.opt_moref("sourceDatacenter");
    let dst_dc = args.opt_moref("destinationDatacenter").or(src_dc.clone());
    let force = args.opt_bool("force")?.unwrap_or(false);
    let (sds, srel) = parse_datastore_path(&src).ok_or_else(|| invalid_datastore_path(&src))?;
    let (dds, drel) = parse_datastore_path(&dst).ok_or_else(|| invalid_datastore_path(&dst))?;
    let ds = resolve_datastore(emu, src_dc.as_ref(), &sds)?;
    resolve_datastore(emu, dst_dc.as_ref(), &dds)?;
    let entity = src_dc.unwrap_or(ds);
    run_task(emu, ctx, call, &entity, move |emu| {
        let stree = Tree::of(emu, &sds);
        let Some(node) = stree.get(&srel) else {
            return Err(Fault::file_not_found(&src));
        };
        if srel.is_empty()
            || drel.is_empty()
            || (sds == dds && (drel == srel || drel.starts_with(&format!("{srel}/"))))
        {
            return Err(Fault::invalid_argument("destinationName"));
        }
        let dtree = Tree::of(emu, &dds);
        if dtree.get(&drel).is_some() && !force {
            return Err(file_fault(
                "FileAlreadyExists",
                format!(
                    "Cannot complete the operation because the file or folder {dst} already exists"
                ),
                &dst,
            ));
        }
        if mv && running_vm_under(emu, &sds, &srel) {
            return Err(file_fault(
                "FileLocked",
                format!("Unable to access file {src} since it is locked"),
                &src,
            ));
        }
        let entries = entries_below(emu, &sds, &srel);
        let mut copies: Vec<(String, Vec<u8>)> = entries
            .iter()
            .map(|(k, tail)| {
                let key = if tail.is_empty() {
                    if k.ends_with('/') {
                        dir_key(&dds, &drel)
                    } else {
                        datastore_key(&dds, &drel)
                    }
                } else {
                    format!("{}{tail}", dir_key(&dds, &drel))
                };
                (key, emu.files.get(k).cloned().unwrap_or_default())
            })
            .collect();
        if node.dir && !entries.iter().any(|(_, t)| t.is_empty()) {
            copies.push((dir_key(&dds, &drel), Vec::new()));
        }
        if !node.dir && entries.is_empty() {
            // A registered VM's file, known from its configuration only: an empty copy.
            copies.push((datastore_key(&dds, &drel), Vec::new()));
        }
        let bytes: usize = copies.iter().map(|(_, b)| b.len()).sum();
        if !mv {
            room_for(emu, copies.len(), bytes, &dst)?;
        }
        if mv {
            for (k, _) in &entries {
                emu.files.remove(k);
            }
        }
        for (k, b) in copies {
            emu.files.insert(k.clone(), b);
            touch_file(emu, &k);
        }
        Ok(None)
    })
}

/// A VMDK descriptor as VirtualDiskManager writes it.
fn vmdk_descriptor(capacity_kb: i64, disk_type: &str, adapter: &str, uuid: &str) -> String {
    format!(
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n# Extent description\nRW {} VMFS \"disk-flat.vmdk\"\n\n# The Disk Data Base\nddb.adapterType = \"{adapter}\"\nddb.thinProvisioned = \"{}\"\nddb.uuid = \"{uuid}\"\nddb.capacityKB = \"{capacity_kb}\"\n",
        capacity_kb.saturating_mul(2),
        u8::from(disk_type == "thin"),
    )
}

/// The `ddb.uuid` of a stored descriptor.
fn descriptor_uuid(bytes: &[u8]) -> Option<String> {
    String::from_utf8_lossy(bytes).lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "ddb.uuid").then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// A disk UUID in vSphere's format: 16 hex bytes separated by spaces and one dash.
fn disk_uuid(emu: &mut Emulator) -> String {
    let hex: String = emu
        .idgen
        .uuid()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    let bytes: Vec<&str> = (0..16).map(|i| &hex[i * 2..i * 2 + 2]).collect();
    format!("{}-{}", bytes[..8].join(" "), bytes[8..].join(" "))
}

/// Largest virtual disk the emulator creates (62 TB, VMFS's limit), in KB.
const MAX_DISK_KB: i64 = 62 * 1024 * 1024 * 1024;

fn vmdk_path(name: &str) -> Result<(String, String), Fault> {
    let (ds, rel) = parse_datastore_path(name).ok_or_else(|| invalid_datastore_path(name))?;
    if rel.is_empty() || !rel.ends_with(".vmdk") {
        return Err(invalid_datastore_path(name));
    }
    Ok((ds, rel))
}

/// `VirtualDiskManager.CreateVirtualDisk_Task(name, datacenter?, spec)`: writes a
/// descriptor (with a fresh `ddb.uuid`); the task's result is the disk's path.
/// `FileAlreadyExists` when something is there, `FileNotFound` when the directory is
/// missing.
pub fn create_virtual_disk_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?.to_owned();
    let dc = args.opt_moref("datacenter");
    let spec = args
        .element("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let capacity_kb: i64 = spec
        .child_text("capacityKb")
        .map(|t| {
            t.trim()
                .parse()
                .map_err(|_| Fault::invalid_argument("spec.capacityKb"))
        })
        .transpose()?
        .unwrap_or(0);
    if !(0..=MAX_DISK_KB).contains(&capacity_kb) {
        return Err(Fault::invalid_argument("spec.capacityKb"));
    }
    let disk_type = spec.child_text("diskType").unwrap_or("thin").to_owned();
    let adapter = spec
        .child_text("adapterType")
        .unwrap_or("lsiLogic")
        .to_owned();
    if disk_type.len() > 64 || adapter.len() > 64 {
        return Err(Fault::invalid_argument("spec"));
    }
    let (ds_name, rel) = vmdk_path(&name)?;
    let ds = resolve_datastore(emu, dc.as_ref(), &ds_name)?;
    let entity = dc.unwrap_or(ds);
    run_task(emu, ctx, call, &entity, move |emu| {
        let tree = Tree::of(emu, &ds_name);
        if tree.get(&rel).is_some() {
            return Err(file_fault(
                "FileAlreadyExists",
                format!(
                    "Cannot complete the operation because the file or folder {name} already exists"
                ),
                &name,
            ));
        }
        if let Some((parent, _)) = rel.rsplit_once('/')
            && !tree.get(parent).is_some_and(|n| n.dir)
        {
            return Err(Fault::file_not_found(&display_path(&ds_name, parent)));
        }
        room_for(emu, 1, 1024, &name)?;
        let uuid = disk_uuid(emu);
        let key = datastore_key(&ds_name, &rel);
        emu.files.insert(
            key.clone(),
            vmdk_descriptor(capacity_kb, &disk_type, &adapter, &uuid).into_bytes(),
        );
        touch_file(emu, &key);
        Ok(Some(Value::str(name)))
    })
}

/// `VirtualDiskManager.DeleteVirtualDisk_Task(name, datacenter?)`: `FileNotFound` when no
/// disk is there, `FileLocked` when a running VM uses it.
pub fn delete_virtual_disk_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?.to_owned();
    let dc = args.opt_moref("datacenter");
    let (ds_name, rel) = vmdk_path(&name)?;
    let ds = resolve_datastore(emu, dc.as_ref(), &ds_name)?;
    let entity = dc.unwrap_or(ds);
    run_task(emu, ctx, call, &entity, move |emu| {
        let key = datastore_key(&ds_name, &rel);
        if !emu.files.contains_key(&key) {
            return Err(Fault::file_not_found(&name));
        }
        if running_vm_under(emu, &ds_name, &rel) {
            return Err(file_fault(
                "FileLocked",
                format!("Unable to access file {name} since it is locked"),
                &name,
            ));
        }
        emu.files.remove(&key);
        let flat = key.trim_end_matches(".vmdk").to_owned() + "-flat.vmdk";
        emu.files.remove(&flat);
        Ok(None)
    })
}

/// Whether a file (not a directory) is at `rel` on datastore `ds`: stored, or a registered
/// VM's.
pub(crate) fn file_exists(emu: &Emulator, ds: &str, rel: &str) -> bool {
    Tree::of(emu, ds).get(rel).is_some_and(|n| !n.dir)
}

/// Writes (or rewrites) the descriptor of a disk at `rel` on `ds`, as VirtualDiskManager
/// does; first-class disks use it. Bounded like every other datastore write.
pub(crate) fn write_descriptor(
    emu: &mut Emulator,
    ds: &str,
    rel: &str,
    capacity_kb: i64,
    disk_type: &str,
    uuid: &str,
) -> Result<(), Fault> {
    let key = datastore_key(ds, rel);
    let new_entries = usize::from(!emu.files.contains_key(&key));
    room_for(emu, new_entries, 1024, &display_path(ds, rel))?;
    emu.files.insert(
        key.clone(),
        vmdk_descriptor(capacity_kb, disk_type, "lsiLogic", uuid).into_bytes(),
    );
    touch_file(emu, &key);
    Ok(())
}

/// The `ddb.capacityKB` and `ddb.uuid` of the descriptor stored at `rel` on `ds`.
pub(crate) fn descriptor_facts(
    emu: &Emulator,
    ds: &str,
    rel: &str,
) -> (Option<i64>, Option<String>) {
    let Some(bytes) = emu.files.get(&datastore_key(ds, rel)) else {
        return (None, None);
    };
    let capacity = String::from_utf8_lossy(bytes).lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "ddb.capacityKB").then(|| v.trim().trim_matches('"').parse().ok())?
    });
    (capacity, descriptor_uuid(bytes))
}

/// Removes a disk's descriptor and flat extent from `ds`.
pub(crate) fn remove_disk_files(emu: &mut Emulator, ds: &str, rel: &str) {
    let key = datastore_key(ds, rel);
    let flat = key.trim_end_matches(".vmdk").to_owned() + "-flat.vmdk";
    emu.files.remove(&key);
    emu.files.remove(&flat);
}

/// A fresh disk UUID in vSphere's format.
pub(crate) fn new_disk_uuid(emu: &mut Emulator) -> String {
    disk_uuid(emu)
}

/// `VirtualDiskManager.QueryVirtualDiskUuid(name, datacenter?)`: the descriptor's
/// `ddb.uuid`; `FileNotFound` when no disk is there.
pub fn query_virtual_disk_uuid(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?;
    let dc = args.opt_moref("datacenter");
    let (ds_name, rel) = vmdk_path(name)?;
    resolve_datastore(emu, dc.as_ref(), &ds_name)?;
    let bytes = emu
        .files
        .get(&datastore_key(&ds_name, &rel))
        .ok_or_else(|| Fault::file_not_found(name))?;
    let uuid = descriptor_uuid(bytes)
        .ok_or_else(|| file_fault("FileFault", format!("{name} is not a virtual disk"), name))?;
    Ok(Some(Value::str(uuid)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Flavor;

    fn g(p: &str, name: &str) -> bool {
        glob(&compile(p), &name.chars().collect::<Vec<_>>())
    }

    #[test]
    fn datastore_paths_parse_and_normalise() {
        assert_eq!(
            parse_datastore_path("[LocalDS_0] a/b"),
            Some(("LocalDS_0".into(), "a/b".into()))
        );
        assert_eq!(
            parse_datastore_path("[LocalDS_0]a//b/"),
            Some(("LocalDS_0".into(), "a/b".into()))
        );
        assert_eq!(
            parse_datastore_path(" [ds] /x/./y "),
            Some(("ds".into(), "x/y".into()))
        );
        assert_eq!(
            parse_datastore_path("[ds]"),
            Some(("ds".into(), String::new()))
        );
        assert_eq!(
            parse_datastore_path("[my ds] vm 1/vm 1.vmx"),
            Some(("my ds".into(), "vm 1/vm 1.vmx".into()))
        );
        assert_eq!(parse_datastore_path("ds/a"), None);
        assert_eq!(parse_datastore_path("[] a"), None);
        assert_eq!(parse_datastore_path("[ds a"), None);
        assert_eq!(parse_datastore_path("[ds] a/../../etc"), None);
        assert_eq!(
            parse_datastore_path(&format!("[ds] {}", "a".repeat(MAX_DATASTORE_PATH))),
            None
        );
    }

    #[test]
    fn keys_are_normalised_and_stay_inside_the_datastore() {
        assert_eq!(
            datastore_key("LocalDS_0", "interop/hello.txt"),
            "[LocalDS_0] interop/hello.txt"
        );
        assert_eq!(
            datastore_key("LocalDS_0", "/interop//./hello.txt"),
            "[LocalDS_0] interop/hello.txt"
        );
        assert_eq!(datastore_key("ds", "../../x"), "[ds] x");
        assert_eq!(dir_key("ds", "a/b"), "[ds] a/b/");
    }

    #[test]
    fn trees_have_implicit_parents_and_list_children_in_order() {
        let mut t = Tree::default();
        t.add(
            "a/b/c.txt",
            Node {
                dir: false,
                size: 3,
                modified_ms: None,
            },
        );
        t.add("a/z", Node::DIR);
        t.add(
            "a.iso",
            Node {
                dir: false,
                size: 1,
                modified_ms: None,
            },
        );
        assert_eq!(t.get("a"), Some(Node::DIR));
        assert_eq!(t.get("a/b"), Some(Node::DIR));
        assert_eq!(t.get(""), Some(Node::DIR));
        assert_eq!(t.get("a/b/c.txt").map(|n| n.size), Some(3));
        assert_eq!(t.get("a/c"), None);
        let names: Vec<&str> = t.children("").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["a", "a.iso"]);
        let names: Vec<&str> = t.children("a").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["b", "z"]);
        assert_eq!(subdirs(&t, "a"), vec!["a/b".to_owned(), "a/z".to_owned()]);
    }

    #[test]
    fn globs_match_like_esxi_file_search() {
        assert!(g("*", "anything.vmx"));
        assert!(g("*.txt", "hello.txt"));
        assert!(!g("*.txt", "hello.txt.bak"));
        assert!(g("hello.txt", "hello.txt"));
        assert!(!g("hello.txt", "hello.txtx"));
        assert!(g("h?llo.*", "hallo.iso"));
        assert!(g("*-flat.vmdk", "disk-flat.vmdk"));
        assert!(g("[a-c]*", "bravo"));
        assert!(!g("[!a-c]*", "bravo"));
        assert!(g("[x", "[x"));
        assert!(g("a**b", "ab"));
        assert!(!g("", "a"));
        assert!(g("", ""));
        // Backtracking stays linear-ish on a pathological pattern.
        let long = "a".repeat(2000);
        assert!(!g(&format!("{}b", "*a".repeat(100)), &long));
    }

    #[test]
    fn queries_and_types_follow_extensions() {
        let q = |qs: &[&str], name: &str, dir: bool| {
            query_matches(
                &qs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                name,
                dir,
            )
        };
        assert!(q(&[], "x", false));
        assert!(q(&["FolderFileQuery"], "d", true));
        assert!(!q(&["FolderFileQuery"], "f.vmx", false));
        assert!(q(&["VmDiskFileQuery"], "disk.vmdk", false));
        assert!(!q(&["VmDiskFileQuery"], "disk-flat.vmdk", false));
        assert!(q(
            &["IsoImageFileQuery", "VmConfigFileQuery"],
            "A.ISO",
            false
        ));
        assert_eq!(info_type("vm.vmx", false, true), "VmConfigFileInfo");
        assert_eq!(info_type("vm.vmx", false, false), "FileInfo");
        assert_eq!(info_type("d", true, false), "FolderFileInfo");
        assert_eq!(info_type("appliance.iso", false, true), "IsoImageFileInfo");
    }

    #[test]
    fn file_infos_carry_only_the_requested_details() {
        let n = Node {
            dir: false,
            size: 36,
            modified_ms: Some(1_000),
        };
        let bare = file_info("hello.txt", &n, &Details::default());
        assert_eq!(
            bare.field("path").and_then(Value::as_str),
            Some("hello.txt")
        );
        assert!(bare.field("fileSize").is_none() && bare.field("modification").is_none());
        let all = Details {
            file_type: true,
            file_size: true,
            modification: true,
            file_owner: true,
        };
        let full = file_info("hello.txt", &n, &all);
        assert_eq!(full.field("fileSize"), Some(&Value::Long(36)));
        assert_eq!(full.field("modification"), Some(&Value::DateTime(1_000)));
        assert_eq!(full.field("owner").and_then(Value::as_str), Some("root"));
    }

    use super::super::search_index::harness::{H, mo};

    /// The file names of one search result.
    fn names(r: &Value) -> Vec<String> {
        r.field("file")
            .map(|f| {
                f.items()
                    .iter()
                    .filter_map(|i| i.field("path")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn setup() -> (H, MoRef, MoRef, MoRef) {
        let h = H::new(Flavor::VirtualCenter);
        let dc = h.find("Datacenter", "DC0");
        let ds = h.find("Datastore", "LocalDS_0");
        let browser = h
            .emu
            .inv
            .prop(&ds, "browser")
            .and_then(Value::as_moref)
            .unwrap()
            .clone();
        (h, dc, ds, browser)
    }

    #[test]
    fn make_directory_and_search_like_the_interop_suite() {
        let (mut h, dc, ds, browser) = setup();
        let fm = h.emu.refs.file_manager.clone();
        let mkdir = |name: &str, parents: bool| {
            format!(
                "<name>{name}</name>{}<createParentDirectories>{parents}</createParentDirectories>",
                mo("datacenter", &dc)
            )
        };
        assert_eq!(
            h.call(
                "MakeDirectory",
                &fm,
                &mkdir("[LocalDS_0] interop/sub", false)
            )
            .unwrap_err()
            .ty,
            "FileNotFound"
        );
        h.call(
            "MakeDirectory",
            &fm,
            &mkdir("[LocalDS_0] interop/sub", true),
        )
        .unwrap();
        assert_eq!(
            h.call(
                "MakeDirectory",
                &fm,
                &mkdir("[LocalDS_0] interop/sub", false)
            )
            .unwrap_err()
            .ty,
            "FileAlreadyExists"
        );
        assert_eq!(
            h.call(
                "MakeDirectory",
                &fm,
                &mkdir("[LocalDS_0] interop/sub", true)
            )
            .unwrap_err()
            .ty,
            "FileAlreadyExists"
        );
        assert_eq!(
            h.call("MakeDirectory", &fm, &mkdir("[NoSuchDS] x", true))
                .unwrap_err()
                .ty,
            "InvalidDatastore"
        );
        assert_eq!(
            h.call("MakeDirectory", &fm, &mkdir("LocalDS_0 x", true))
                .unwrap_err()
                .ty,
            "InvalidDatastorePath"
        );
        // vCenter needs the datacenter to know which datastore is meant.
        assert_eq!(
            h.call("MakeDirectory", &fm, "<name>[LocalDS_0] y</name>")
                .unwrap_err()
                .ty,
            "InvalidArgument"
        );

        // What the /folder PUT handler stores.
        h.emu.files.insert(
            datastore_key("LocalDS_0", "interop/hello.txt"),
            b"hello\n".to_vec(),
        );
        let spec = "<searchSpec><matchPattern>hello.txt</matchPattern><details><fileType>true</fileType>\
                    <fileSize>true</fileSize><modification>true</modification><fileOwner>false</fileOwner></details></searchSpec>";
        let body = format!("<datastorePath>[LocalDS_0] interop</datastorePath>{spec}");
        let r = h
            .task("SearchDatastore_Task", &browser, &body)
            .unwrap()
            .unwrap();
        assert_eq!(r.xsi_type(), "HostDatastoreBrowserSearchResults");
        assert_eq!(
            r.field("folderPath").and_then(Value::as_str),
            Some("[LocalDS_0] interop")
        );
        assert_eq!(r.field("datastore").and_then(Value::as_moref), Some(&ds));
        assert_eq!(names(&r), vec!["hello.txt"]);
        let f = &r.field("file").unwrap().items()[0];
        assert_eq!(f.xsi_type(), "FileInfo");
        assert_eq!(f.field("fileSize"), Some(&Value::Long(6)));

        let body = "<datastorePath>[LocalDS_0] interop</datastorePath><searchSpec><matchPattern>*.txt</matchPattern></searchSpec>";
        let r = h
            .task("SearchDatastoreSubFolders_Task", &browser, body)
            .unwrap()
            .unwrap();
        let results = r.items();
        assert_eq!(results.len(), 2);
        assert_eq!(
            results[0].field("folderPath").and_then(Value::as_str),
            Some("[LocalDS_0] interop")
        );
        assert_eq!(names(&results[0]), vec!["hello.txt"]);
        assert_eq!(
            results[1].field("folderPath").and_then(Value::as_str),
            Some("[LocalDS_0] interop/sub")
        );
        assert!(names(&results[1]).is_empty());

        let body = "<datastorePath>[LocalDS_0] no-such-dir</datastorePath>";
        assert_eq!(
            h.task("SearchDatastore_Task", &browser, body).unwrap_err(),
            "FileNotFound"
        );
        let body = "<datastorePath>[NoSuchDS] x</datastorePath>";
        assert_eq!(
            h.task("SearchDatastore_Task", &browser, body).unwrap_err(),
            "InvalidDatastore (not a task)"
        );

        let del = |name: &str| format!("<name>{name}</name>{}", mo("datacenter", &dc));
        h.task(
            "DeleteDatastoreFile_Task",
            &fm,
            &del("[LocalDS_0] interop/hello.txt"),
        )
        .unwrap();
        assert!(!h.emu.files.contains_key("[LocalDS_0] interop/hello.txt"));
        assert_eq!(
            h.task(
                "DeleteDatastoreFile_Task",
                &fm,
                &del("[LocalDS_0] interop/hello.txt")
            )
            .unwrap_err(),
            "FileNotFound"
        );
        h.task("DeleteDatastoreFile_Task", &fm, &del("[LocalDS_0] interop"))
            .unwrap();
        assert!(
            h.emu
                .files
                .keys()
                .all(|k| !k.starts_with("[LocalDS_0] interop"))
        );
        assert_eq!(
            h.task("DeleteDatastoreFile_Task", &fm, &del("[LocalDS_0]"))
                .unwrap_err(),
            "CannotDeleteFile"
        );
    }

    #[test]
    fn every_vm_has_its_folder_and_running_vms_lock_theirs() {
        let (mut h, dc, _, browser) = setup();
        let body = "<datastorePath>[LocalDS_0]</datastorePath><searchSpec><query xsi:type=\"FolderFileQuery\"/></searchSpec>";
        let r = h
            .task("SearchDatastore_Task", &browser, body)
            .unwrap()
            .unwrap();
        let folders = names(&r);
        assert!(folders.contains(&"DC0_H0_VM0".to_owned()), "{folders:?}");
        assert!(
            r.field("file")
                .unwrap()
                .items()
                .iter()
                .all(|f| f.xsi_type() == "FolderFileInfo")
        );

        let body = "<datastorePath>[LocalDS_0] DC0_H0_VM0</datastorePath>\
                    <searchSpec><details><fileType>true</fileType></details></searchSpec>";
        let r = h
            .task("SearchDatastore_Task", &browser, body)
            .unwrap()
            .unwrap();
        let files = r.field("file").unwrap().items();
        let vmx = files
            .iter()
            .find(|f| f.field("path").and_then(Value::as_str) == Some("DC0_H0_VM0.vmx"));
        assert_eq!(
            vmx.map(|f| f.xsi_type().into_owned()),
            Some("VmConfigFileInfo".to_owned())
        );

        // The model's VMs are powered on: their folders are locked.
        let fm = h.emu.refs.file_manager.clone();
        let body = format!(
            "<name>[LocalDS_0] DC0_H0_VM0</name>{}",
            mo("datacenter", &dc)
        );
        assert_eq!(
            h.task("DeleteDatastoreFile_Task", &fm, &body).unwrap_err(),
            "FileLocked"
        );
    }

    #[test]
    fn files_date_from_their_last_change_and_records_stay_bounded() {
        let mut h = H::new(Flavor::VirtualCenter);
        let start = h.emu.config.start_ms;
        // An upload no call recorded dates from the start.
        h.emu
            .files
            .insert("[LocalDS_0] up.txt".into(), b"x".to_vec());
        h.emu.clock.advance(5_000);
        write_descriptor(&mut h.emu, "LocalDS_0", "d/a.vmdk", 1024, "thin", "u").unwrap();
        let tree = Tree::of(&h.emu, "LocalDS_0");
        assert_eq!(tree.get("up.txt").unwrap().modified_ms, Some(start));
        assert_eq!(
            tree.get("d/a.vmdk").unwrap().modified_ms,
            Some(start + 5_000)
        );
        assert_eq!(tree.get("d").unwrap().modified_ms, Some(start));
        // Records of files removed behind the map's back are dropped as it grows.
        for i in 0..(MODIFIED_SLACK * 2) {
            let key = format!("[LocalDS_0] gone{i}");
            h.emu.files.insert(key.clone(), Vec::new());
            touch_file(&mut h.emu, &key);
            h.emu.files.remove(&key);
        }
        assert!(h.emu.file_modified_ms.len() <= h.emu.files.len() * 2 + MODIFIED_SLACK + 1);
    }
}
