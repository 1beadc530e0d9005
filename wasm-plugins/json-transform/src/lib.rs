//! json-transform: reshape JSON records: pick fields (also nested ones, by dotted path),
//! rename them, drop them, and filter records by field values.
//!
//! Input is one JSON object:
//!
//! ```text
//! {"data":   {...} | [{...}, ...],        the record or the records to transform
//!  "select": ["id", "user.name", ...],    optional: output only these paths, in this order
//!  "rename": {"user.name": "name", ...},  optional: output key for a path (or top-level key)
//!  "drop":   ["password", ...],           optional: top-level keys to leave out
//!  "where":  {"status": "active", ...}}   optional: keep records whose path equals the value
//! ```
//!
//! The output is compact JSON of the same shape as `data`. A selected path that a record
//! lacks is left out of that record. `where` compares values as written, minus whitespace.
#![no_std]

use abi_sdk::json;
use abi_sdk::{format, handler, Buf, HandlerResult};

/// The parsed transform: raw JSON spans of the optional parts.
struct Spec<'a> {
    select: Option<&'a [u8]>,
    rename: Option<&'a [u8]>,
    drop: Option<&'a [u8]>,
    filter: Option<&'a [u8]>,
}

fn require(kind: u8, value: Option<&[u8]>, what: &str) -> Result<(), &'static str> {
    match value {
        Some(v) if json::kind(v) != kind => Err(format(format_args!("{} has the wrong type", what))),
        _ => Ok(()),
    }
}

fn require_strings(list: Option<&[u8]>, what: &str) -> Result<(), &'static str> {
    require(b'a', list, what)?;
    if let Some(items) = list {
        if json::elements(items).any(|e| json::kind(e) != b's') {
            return Err(format(format_args!("{} must be an array of strings", what)));
        }
    }
    Ok(())
}

/// Follow a dotted path ("user.address.city") through nested objects.
fn lookup<'a>(record: &'a [u8], path: &[u8]) -> Option<&'a [u8]> {
    let mut current = record;
    for part in path.split(|c| *c == b'.') {
        current = json::get(current, part)?;
    }
    Some(current)
}

/// The output key for `path` (decoded text): its rename, or the path itself.
fn out_key<'a>(spec: &Spec<'a>, path: &'a [u8]) -> &'a [u8] {
    spec.rename
        .and_then(|r| json::get(r, path))
        .and_then(json::string)
        .unwrap_or(path)
}

fn equal_minified(a: &[u8], b: &[u8]) -> bool {
    let mut x = Buf::new(a.len());
    let mut y = Buf::new(b.len());
    json::minify(a, &mut x);
    json::minify(b, &mut y);
    x.as_bytes() == y.as_bytes()
}

fn keep(spec: &Spec, record: &[u8]) -> bool {
    let filter = match spec.filter {
        Some(f) => f,
        None => return true,
    };
    json::members(filter).all(|(raw_path, wanted)| {
        let path = json::string(raw_path).unwrap_or(b"");
        lookup(record, path).map_or(false, |v| equal_minified(v, wanted))
    })
}

fn put_member(out: &mut Buf, first: &mut bool, key: &[u8], value: &[u8]) {
    if !*first {
        out.byte(b',');
    }
    *first = false;
    out.json_string(key);
    out.byte(b':');
    json::minify(value, out);
}

fn transform_record(spec: &Spec, record: &[u8], out: &mut Buf) {
    let mut first = true;
    out.byte(b'{');
    if let Some(select) = spec.select {
        for raw in json::elements(select) {
            let path = json::string(raw).unwrap_or(b"");
            if let Some(value) = lookup(record, path) {
                put_member(out, &mut first, out_key(spec, path), value);
            }
        }
    } else {
        for (raw_key, value) in json::members(record) {
            let key = json::string(raw_key).unwrap_or(b"");
            let dropped = spec.drop.map_or(false, |d| json::elements(d).any(|e| json::str_eq(e, key)));
            if !dropped {
                put_member(out, &mut first, out_key(spec, key), value);
            }
        }
    }
    out.byte(b'}');
}

fn transform(input: &[u8]) -> HandlerResult {
    let doc = json::parse(input)
        .map_err(|at| format(format_args!("input is not valid JSON (byte offset {})", at)))?;
    if json::kind(doc) != b'o' {
        return Err("input must be a JSON object with a \"data\" member");
    }
    let data = json::get(doc, b"data").ok_or("input has no \"data\" member")?;
    let spec = Spec {
        select: json::get(doc, b"select"),
        rename: json::get(doc, b"rename"),
        drop: json::get(doc, b"drop"),
        filter: json::get(doc, b"where"),
    };
    require_strings(spec.select, "\"select\"")?;
    require_strings(spec.drop, "\"drop\"")?;
    require(b'o', spec.rename, "\"rename\" (an object of path -> new name)")?;
    require(b'o', spec.filter, "\"where\" (an object of path -> value)")?;
    if let Some(rename) = spec.rename {
        if json::members(rename).any(|(_, v)| json::kind(v) != b's') {
            return Err("\"rename\" values must be strings");
        }
    }

    let mut out = Buf::new(data.len() + 16);
    match json::kind(data) {
        b'o' => {
            if keep(&spec, data) {
                transform_record(&spec, data, &mut out);
            } else {
                out.put(b"null");
            }
        }
        b'a' => {
            out.byte(b'[');
            let mut first = true;
            for (index, record) in json::elements(data).enumerate() {
                if json::kind(record) != b'o' {
                    return Err(format(format_args!("data[{}] is not an object", index)));
                }
                if !keep(&spec, record) {
                    continue;
                }
                if !first {
                    out.byte(b',');
                }
                first = false;
                transform_record(&spec, record, &mut out);
            }
            out.byte(b']');
        }
        _ => return Err("\"data\" must be an object or an array of objects"),
    }
    Ok(out.finish())
}

handler!("transform", transform);
