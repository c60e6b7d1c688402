//! One test per opcode family of the symbolic machine, on hand-assembled streams.

use super::*;

/// Assemble a stream from opcode bytes and arguments.
fn p(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn parse(bytes: &[u8]) -> PickleFile {
    parse_file(bytes, Some(bytes.len() as u64), &PickleLimits::default())
}

fn resolved(s: &Stream) -> Vec<String> {
    s.imports
        .iter()
        .filter_map(|i| match &i.target {
            Target::Resolved { module, name } => Some(format!("{module}.{name}")),
            Target::Unresolved { .. } => None,
        })
        .collect()
}

fn called(s: &Stream) -> Vec<(String, &'static str, Option<String>)> {
    s.calls
        .iter()
        .filter_map(|c| match c.callee {
            Callee::Import(i) => s
                .import_name(i)
                .map(|(m, n)| (format!("{m}.{n}"), c.opcode, c.argument.clone())),
            _ => None,
        })
        .collect()
}

fn binunicode(s: &str) -> Vec<u8> {
    let mut v = vec![0x8c, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

#[test]
fn global_and_reduce_protocol0() {
    let f = parse(b"cos\nsystem\n(S'id'\ntR.");
    let s = &f.streams[0];
    assert!(s.stopped && s.error.is_none());
    assert_eq!(resolved(s), ["os.system"]);
    assert_eq!(called(s), [("os.system".to_string(), "REDUCE", Some("id".to_string()))]);
    assert!(f.is_pickle());
}

#[test]
fn stack_global_from_memo() {
    // 'os' and 'system' memoized inside a list, fetched back with BINGET for STACK_GLOBAL.
    let bytes = p(&[
        b"\x80\x04]",
        &binunicode("os"),
        b"\x94",
        b"a",
        &binunicode("system"),
        b"q\x05",
        b"a0",
        b"h\x00h\x05\x93",
        &binunicode("id"),
        b"\x85R.",
    ]);
    let f = parse(&bytes);
    let s = &f.streams[0];
    assert_eq!(s.error, None);
    assert_eq!(resolved(s), ["os.system"]);
    assert_eq!(called(s)[0].2.as_deref(), Some("id"));
}

#[test]
fn long_binget_and_text_put_get() {
    let bytes = p(&[
        b"\x80\x02",
        &binunicode("builtins"),
        b"r\x07\x00\x00\x00",
        &binunicode("eval"),
        b"p9\n0j\x07\x00\x00\x00g9\n\x93)R.",
    ]);
    let s = &parse(&bytes).streams[0];
    assert_eq!(s.error, None, "{:?}", s.error);
    assert_eq!(resolved(s), ["builtins.eval"]);
}

#[test]
fn inst_obj_newobj_newobj_ex_build() {
    let s = &parse(b"(S'id'\nios\nsystem\n.").streams[0];
    assert_eq!(called(s)[0], ("os.system".into(), "INST", Some("id".into())));

    let s = &parse(b"(csubprocess\nPopen\nS'ls'\no.").streams[0];
    assert_eq!(called(s)[0], ("subprocess.Popen".into(), "OBJ", Some("ls".into())));

    let s = &parse(&p(&[b"\x80\x02csubprocess\nPopen\n", &binunicode("ls"), b"\x85\x81."])).streams[0];
    assert_eq!(called(s)[0].1, "NEWOBJ");

    let s = &parse(&p(&[b"\x80\x04csubprocess\nPopen\n", &binunicode("ls"), b"\x85}\x92."])).streams[0];
    assert_eq!(called(s)[0].1, "NEWOBJ_EX");

    let s = &parse(b"\x80\x02cevil\nLoader\n)\x81}b.").streams[0];
    let c = called(s);
    assert_eq!(c.iter().map(|c| c.1).collect::<Vec<_>>(), ["NEWOBJ", "BUILD"]);
}

#[test]
fn build_on_a_global_is_a_mutation() {
    let s = &parse(b"ctorch.serialization\n_package_registry\n}b.").streams[0];
    assert_eq!(s.mutations.len(), 1);
    assert_eq!(s.mutations[0].opcode, "BUILD");
    let s = &parse(b"\x80\x02csys\nmodules\nX\x01\x00\x00\x00xNs.").streams[0];
    assert_eq!(s.mutations[0].opcode, "SETITEM");
}

#[test]
fn extension_codes_and_persistent_ids() {
    let s = &parse(b"\x80\x02\x82\x2a)R\x83\x01\x02)R\x84\x01\x02\x03\x04)R.").streams[0];
    assert_eq!(
        s.extensions.iter().map(|e| e.1).collect::<Vec<_>>(),
        [0x2a, 0x0201, 0x04030201]
    );
    let s = &parse(b"Pevil\n.").streams[0];
    assert!(!s.persistent_ids[0].torch_convention);
    let storage = p(&[
        b"\x80\x02(",
        &binunicode("storage"),
        b"ctorch\nFloatStorage\n",
        &binunicode("0"),
        b"tQ.",
    ]);
    let s = &parse(&storage).streams[0];
    assert!(s.persistent_ids[0].torch_convention);
}

#[test]
fn unresolvable_stack_global_and_opaque_call() {
    let s = &parse(&p(&[b"\x80\x04cbuiltins\nstr\n)R", &binunicode("system"), b"\x93)R."])).streams[0];
    assert!(matches!(&s.imports[1].target, Target::Unresolved { reason } if reason.contains("builtins.str")));
    let s = &parse(b"\x80\x02cbuiltins\nstr\n)R)R.").streams[0];
    assert!(s
        .calls
        .iter()
        .any(|c| matches!(&c.callee, Callee::Opaque(d) if d.contains("result of calling builtins.str"))));
}

#[test]
fn several_streams_trailing_data_and_truncation() {
    let f = parse(b"\x80\x02}.cos\nsystem\n(S'x'\ntR.");
    assert_eq!(f.streams.len(), 2);
    assert_eq!(resolved(&f.streams[1]), ["os.system"]);

    let f = parse(b"\x80\x02}.\x00\x01\x02garbage");
    assert_eq!(f.streams.len(), 1);
    assert_eq!(f.trailing, Some((4, Some(10))));

    // Truncated after the call: the import is still reported, plus the break.
    let f = parse(b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R");
    assert!(f.is_pickle());
    assert_eq!(resolved(&f.streams[0]), ["os.system"]);
    assert!(
        matches!(&f.streams[0].error, Some(StreamError::Malformed { message, .. }) if message.contains("end of data"))
    );

    let f = parse(b"\x80\x02cos\nsystem\n)R\xff.");
    assert!(matches!(&f.streams[0].error, Some(StreamError::Malformed { message, .. }) if message.contains("0xff")));
}

#[test]
fn salvage_finds_streams_a_loader_never_reaches() {
    // After an invalid opcode: the stream breaks at byte 3, the payload follows at 4.
    let data = b"\x80\x02}\xfecos\nsystem\n(S'id'\ntR.";
    let f = parse(data);
    assert_eq!(f.salvage_from(), Some(4));
    let (found, stopped) = salvage(&data[4..], 4, &PickleLimits::default());
    assert!(!stopped);
    assert_eq!(found.len(), 1);
    assert!(found[0].salvaged);
    assert_eq!(found[0].start, 4);
    assert_eq!(
        called(&found[0]),
        [("os.system".to_string(), "REDUCE", Some("id".to_string()))]
    );
    assert_eq!(found[0].imports[0].offset, 4);

    // After non-pickle data following a STOP, in protocol 4 (SHORT_BINUNICODE pair).
    let mut data = b"\x80\x02}.\x00junk\x00".to_vec();
    let payload = p(&[b"\x80\x04", &binunicode("posix"), &binunicode("system"), b"\x93)R."]);
    data.extend_from_slice(&payload);
    let f = parse(&data);
    assert_eq!(f.salvage_from(), Some(4));
    let (found, stopped) = salvage(&data[4..], 4, &PickleLimits::default());
    assert!(!stopped);
    assert_eq!(found.iter().map(resolved).collect::<Vec<_>>(), [["posix.system"]]);
    assert_eq!(found[0].start, 10);

    // Clean files, files cut short and random bytes give nothing.
    assert_eq!(parse(b"\x80\x02}.").salvage_from(), None);
    assert_eq!(parse(b"\x80\x02cos\nsystem\n").salvage_from(), None);
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(salvage(&noise, 0, &PickleLimits::default()).0.is_empty());
    // A GLOBAL line whose names are not identifiers is not a stream.
    assert!(salvage(b"cno such\nthing here\n)R.", 0, &PickleLimits::default())
        .0
        .is_empty());
    // Bytes that repeat a stream start use up the opcode budget instead of quadratic time, and
    // say that the search stopped early.
    let repeated = b"\x80\x02N0".repeat(1 << 21);
    let (found, stopped) = salvage(&repeated, 0, &PickleLimits::default());
    assert!(found.is_empty() && stopped);
}

#[test]
fn soft_errors_carry_on() {
    // A memo read before any write: Python would fail there, but a later import is still seen.
    let f = parse(b"\x80\x02h\x05cos\nsystem\n)R.");
    let s = &f.streams[0];
    assert!(s.stopped);
    assert!(matches!(&s.error, Some(StreamError::Malformed { message, .. }) if message.contains("memo entry 5")));
    assert_eq!(resolved(s), ["os.system"]);
}

#[test]
fn numbers_strings_and_containers() {
    let bytes = p(&[
        b"\x80\x05(I01\nI-12\nL99L\nF1.5\nJ\x01\x00\x00\x00K\x01M\x02\x00\x8a\x02\xff\x7f\x8b\x01\x00\x00\x00\x01G\x00\x00\x00\x00\x00\x00\x00\x00",
        b"S'a\\'b'\nT\x01\x00\x00\x00xU\x01yVcaf\\u00e9\nX\x01\x00\x00\x00z\x8d\x01\x00\x00\x00\x00\x00\x00\x00w",
        b"B\x01\x00\x00\x00bC\x01b\x8e\x01\x00\x00\x00\x00\x00\x00\x00b\x96\x01\x00\x00\x00\x00\x00\x00\x00b",
        b"NN\x88\x89\x8f(\x90(\x91l]}(d)(t\x85\x86\x87\x97\x98\x95\x00\x00\x00\x00\x00\x00\x00\x00(N12(Ne.",
    ]);
    let f = parse(&bytes);
    let s = &f.streams[0];
    assert_eq!(s.error, None, "{:?}", s.error);
    assert!(s.stopped);
    assert_eq!(s.protocol, Some(5));
}

#[test]
fn legacy_torch_stops_after_five_pickles() {
    let magic = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";
    let bytes = p(&[
        magic,
        b"\x80\x02M\xe9\x03.",
        b"\x80\x02}.",
        b"\x80\x02}.",
        b"\x80\x02]q\x00X\x01\x00\x00\x000a.",
        b"\x80\x02cos\nsystem\n)R.",
    ]);
    let f = parse(&bytes);
    assert!(f.legacy_torch);
    assert_eq!(f.streams.len(), 5);
    assert_eq!(f.trailing, None);
}

#[test]
fn joblib_arrays_are_stepped_over() {
    // NumpyArrayWrapper for a float64 array of shape (2,), with alignment padding, then the
    // raw 16 bytes, then a dangerous call that must still be seen.
    let mut bytes = p(&[
        b"\x80\x04cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(",
        &binunicode("shape"),
        b"K\x02\x85",
        &binunicode("dtype"),
        b"cnumpy\ndtype\n",
        &binunicode("f8"),
        b"\x89\x88\x87R",
        &binunicode("numpy_array_alignment_bytes"),
        b"K\x10ub",
    ]);
    bytes.push(3);
    bytes.extend_from_slice(&[0xff; 3]);
    bytes.extend_from_slice(&[0xab; 16]);
    bytes.extend_from_slice(b"0cos\nsystem\n)R.");
    let f = parse(&bytes);
    let s = &f.streams[0];
    assert_eq!(s.error, None, "{:?}", s.error);
    assert_eq!(s.joblib_arrays, 1);
    assert!(resolved(s).contains(&"os.system".to_string()));
}

#[test]
fn limits_stop_hostile_streams() {
    let limits = PickleLimits {
        max_opcodes: 1000,
        max_memo: 10,
        max_stack: 100,
        max_nesting: 1,
    };
    let many = vec![b'N'; 5000];
    let f = parse_file(&many[..], None, &limits);
    assert!(matches!(f.streams[0].error, Some(StreamError::Limit { .. })));
    let mut memo = b"\x80\x02N".to_vec();
    for i in 0..50u8 {
        memo.extend_from_slice(&[b'q', i]);
    }
    memo.push(b'.');
    let f = parse_file(&memo[..], None, &limits);
    assert!(f.streams[0].memo_overflow.is_some());
    // A 2^64 length field costs nothing but the truncation it is.
    let f = parse(b"\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\xff");
    assert!(matches!(&f.streams[0].error, Some(StreamError::Malformed { .. })));
}

#[test]
fn text_files_are_not_pickles() {
    for text in [
        &b"click\nrequests\nnumpy\n"[..],
        b"N.B. this is a readme",
        b"(just a note)",
        b"{\"json\": true}",
    ] {
        assert!(!parse(text).is_pickle(), "{}", String::from_utf8_lossy(text));
    }
}

#[test]
fn deep_nesting_is_freed_without_recursion() {
    // 300,000 nested 1-tuples, then 30,000 chained calls of call results (both within the
    // retention budget): dropping or describing them must not overflow the stack.
    let mut deep = b"\x80\x02N".to_vec();
    deep.extend(std::iter::repeat_n(0x85u8, 300_000));
    deep.extend_from_slice(b"0cbuiltins\nstr\n");
    for _ in 0..30_000 {
        deep.extend_from_slice(b")R");
    }
    deep.push(b'.');
    let f = parse(&deep);
    assert!(f.streams[0].stopped, "{:?}", f.streams[0].error);
    let calls: u64 = f.streams[0].calls.iter().map(|c| 1 + c.repeats).sum();
    assert_eq!(calls, 30_000);
    let c = f.streams[0].calls.last().unwrap();
    assert!(
        matches!(&c.callee, Callee::Opaque(d) if d.len() < 200),
        "{:?}",
        c.callee
    );
}

#[test]
fn retained_data_is_bounded_and_reported() {
    // 70 000 distinct 1 KiB strings kept in the memo: past the retention budget the stream
    // stops with a limit error (a GEN002 finding) instead of growing or silently degrading.
    let mut bytes = b"\x80\x04".to_vec();
    let body = vec![b'a'; 1024];
    for _ in 0..70_000 {
        bytes.push(b'X');
        bytes.extend_from_slice(&1024u32.to_le_bytes());
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(b"\x940");
    }
    bytes.push(b'.');
    let f = parse(&bytes);
    assert!(
        matches!(&f.streams[0].error, Some(StreamError::Limit { message, .. }) if message.contains("MiB")),
        "{:?}",
        f.streams[0].error
    );
}

#[test]
fn every_kept_structure_counts_against_the_budget() {
    // Small inputs that once made the machine keep hundreds of MiB (found by benches/rss.sh):
    // containers, memo entries, imports, calls and whole streams are all charged, so each stops
    // with a limit error instead of growing without bound.
    let mut tuples = b"\x80\x04)".to_vec(); // EMPTY_TUPLE, then TUPLE1 five million times
    tuples.extend(std::iter::repeat_n(0x85u8, 5_000_000));
    tuples.push(b'.');
    let mut memo = b"\x80\x04".to_vec(); // EMPTY_LIST MEMOIZE POP, 990,000 times
    memo.extend(b"]\x940".repeat(990_000));
    memo.extend_from_slice(b"N.");
    let mut imports = b"\x80\x04".to_vec(); // a million distinct GLOBALs
    for i in 0..1_000_000 {
        imports.extend_from_slice(format!("cmod{i}\nname{i}\n0").as_bytes());
    }
    imports.extend_from_slice(b"N.");
    for (name, bytes) in [("tuples", &tuples), ("memo", &memo), ("imports", &imports)] {
        let f = parse(bytes);
        assert!(
            matches!(&f.streams[0].error, Some(StreamError::Limit { message, .. }) if message.contains("MiB")),
            "{name}: {:?}",
            f.streams[0].error
        );
    }
    // 2.5 million calls of one callee whose results are dropped at once: one record, and the
    // freed results stop counting, so the stream is read to its end.
    let mut calls = b"\x80\x04cbuiltins\nlen\n\x94".to_vec();
    calls.extend(b"h\x00)R0".repeat(2_500_000));
    calls.extend_from_slice(b"N.");
    let f = parse(&calls);
    assert!(f.streams[0].stopped, "{:?}", f.streams[0].error);
    assert_eq!(f.streams[0].calls.len(), 1);
    assert_eq!(f.streams[0].calls[0].repeats, 2_499_999);
    // A million short-lived records (a list keeps only its first items): freed containers
    // stop counting, so a large but ordinary pickle is read to its end.
    // (APPENDS in batches of 1000, as pickle writes them.)
    let mut records = b"\x80\x04]\x94".to_vec();
    let mut batch = b"(".to_vec();
    batch.extend(b"\x8c\x01aK\x01\x86".repeat(1000));
    batch.push(b'e');
    records.extend(batch.repeat(1000));
    records.push(b'.');
    let f = parse(&records);
    assert!(f.streams[0].stopped, "{:?}", f.streams[0].error);
    // A million concatenated streams, each with an import: the file stops keeping streams.
    let streams = b"\x80\x02cos\nsystem\n.".repeat(1_000_000);
    let f = parse(&streams);
    assert!(f.streams.len() < 1_000_000, "{}", f.streams.len());
    assert!(
        matches!(&f.streams.last().unwrap().error, Some(StreamError::Limit { message, .. }) if message.contains("file")),
        "{:?}",
        f.streams.last().unwrap().error
    );
}

#[test]
fn reference_cycles_are_freed_when_the_stream_ends() {
    // Each `Rc` cycle would otherwise outlive the scan of its file: a list appended to itself,
    // an object whose BUILD state is a list that holds it, a dict that is its own key and value.
    let live = || LIVE_CONTAINERS.with(std::cell::Cell::get);
    let before = live();
    let bytes = p(&[
        b"\x80\x02]\x94h\x00ah\x00a0",
        b"cbuiltins\nobject\n)R\x94]h\x01ab0",
        b"}\x94h\x02h\x02s0",
        b"N.",
    ]);
    let f = parse(&bytes);
    assert!(f.streams[0].stopped, "{:?}", f.streams[0].error);
    assert_eq!(f.streams[0].error, None);
    assert_eq!(live(), before);
}

#[test]
fn collections_keep_what_the_stream_still_reaches() {
    // Thousands of short-lived tuples make the heap collect several times (and move the live
    // tuples' items together in the pool) while live values wait in the memo (arguments), on
    // the stack (an import and its arguments) and inside a call result (its callee, itself a
    // call result): each must come out of every collection intact.
    let live = || LIVE_CONTAINERS.with(std::cell::Cell::get);
    let before = live();
    // Empty tuples, and 1-tuples made from a mark (the items go from the stack to the pool).
    let churn = b")0(Nt0".repeat(2 * PRUNE_FLOOR);
    let bytes = p(&[
        b"\x80\x02",
        &binunicode("id"),
        b"\x85q\x000",
        &churn,
        b"cos\nsystem\nh\x00R0cposix\nsystem\n",
        &binunicode("sh"),
        b"\x85",
        &churn,
        b"R0cbuiltins\nobject\n)R)R",
        &churn,
        b")R.",
    ]);
    let s = &parse(&bytes).streams[0];
    assert!(s.stopped && s.error.is_none(), "{:?}", s.error);
    let c = called(s);
    assert_eq!(c[0], ("os.system".into(), "REDUCE", Some("id".into())));
    assert_eq!(c[1], ("posix.system".into(), "REDUCE", Some("sh".into())));
    let last = &s.calls.last().unwrap().callee;
    assert!(
        matches!(last, Callee::Opaque(d) if d == "the result of calling the result of calling builtins.object"),
        "{last:?}"
    );
    assert_eq!(live(), before);
}

#[test]
fn tensor_bytes_that_look_like_opcodes_are_not_pickles() {
    // Raw float payloads can start with `c` (GLOBAL) or 0x80 0x02 (PROTO) by chance, and even
    // reach a `R`: names that are not identifiers, or an invalid opcode after a few opcodes,
    // mark them as data, not as a malformed pickle.
    let cases: [&[u8]; 4] = [
        b"cB<\xe3b\xd1B<Y\n\x9al\xef%<\n)R\xa5\x00\x13",
        b"\x80\x02NN\xa5\x00\x00\x00",
        b"\x80\x03K\x01K\x02\x00\x00",
        b"(\x00\x00\x00",
    ];
    for bytes in cases {
        assert!(!parse(bytes).is_pickle(), "{bytes:?}");
    }
    // Real pickles still count, complete or cut short.
    assert!(parse(b"\x80\x02cos\nsystem\n)R").is_pickle());
    assert!(parse(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94(").is_pickle());
    assert!(is_dotted_identifier("torch._utils") && is_dotted_identifier("_rebuild_tensor_v2"));
    assert!(!is_dotted_identifier("B<\u{fffd}b") && !is_dotted_identifier("a..b") && !is_dotted_identifier("1a"));
}

#[test]
fn memo_keeps_every_key_like_a_map() {
    // Sequential keys (the vector), gaps, overwrites, and a sparse key the vector later reaches.
    let mut memo = Memo::default();
    let mut model: HashMap<u32, i128> = HashMap::new();
    for (k, v) in [
        (0, 1),
        (1, 2),
        (5, 3),
        (2, 4),
        (1, 5),
        (3, 6),
        (4, 7),
        (5, 8),
        (6, 9),
        (1 << 30, 10),
    ] {
        memo.insert(k, int(v));
        model.insert(k, v);
        assert_eq!(memo.len(), model.len());
        for key in 0..8u32 {
            let got = match memo.get(key) {
                Some(V::Int(n)) => Some(n.get()),
                _ => None,
            };
            assert_eq!(got, model.get(&key).copied(), "key {key} after putting {k}");
            assert_eq!(memo.contains(key), model.contains_key(&key));
        }
    }
    assert_eq!(memo.dense.len(), 7);
}
