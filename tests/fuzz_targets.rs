//! The fuzz targets of `fuzz/` (bodies in `statusrelay_core::fuzzing`), run briefly on every
//! test run so that they keep compiling and passing on stable without libFuzzer. Inputs are
//! the seed documents of `fuzz/seeds/<target>/` with random mutations (bytes flipped,
//! inserted, deleted, the document cut, JSON and markup tokens spliced in), and a share of
//! plain random bytes. A panic fails the test and proptest shrinks the input; a crash found
//! here or by the fuzzer becomes a named regression test next to the code it broke.
//!
//! The coverage-guided fuzzers go much deeper (`fuzz/README.md`); this is the smoke run.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use statusrelay_core::fuzzing::{TARGETS, Target};

/// Per target: every seed through a few hundred mutations, well under a second each in a
/// debug build (most mutations break the document early).
const CASES: u32 = 1000;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = fuzz_dir().join("seeds").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// Tokens that change a document's structure rather than a value's text.
const TOKENS: &[&str] = &[
    "\0",
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "true",
    "-1",
    "1e999",
    "18446744073709551616",
    "\"\"",
    "[]",
    "{}",
    "<",
    ">",
    "</",
    "<![CDATA[",
    "]]>",
    "&#",
    "&amp;",
    "<br>",
    "<p>",
    "<li>",
    "<pre>",
    "<script>",
    "\u{202e}",
    "é",
    "\u{1F600}",
    "\r\n",
    "=",
    "'''",
    "[[",
    "]]",
    "#",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "+262143-12-31T23:59:59Z",
    "Thu, 01 Jan 1970 00:00:00 PST",
    "whsec_",
    "v1,",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize, usize),
    Token(usize, usize),
    Repeat(usize, usize),
    Cut(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (at, any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (at, 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (at, 0..TOKENS.len()).prop_map(|(i, t)| Mutation::Token(i, t)),
        (at, 1usize..256).prop_map(|(i, n)| Mutation::Repeat(i, n)),
        at.prop_map(Mutation::Cut),
    ]
}

fn apply(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = data.len();
        let pos = |i: usize| if len == 0 { 0 } else { i % (len + 1) };
        match *m {
            Mutation::Flip(i, b) if len > 0 => data[i % len] ^= b.max(1),
            Mutation::Flip(..) => {}
            Mutation::Insert(i, b) => data.insert(pos(i), b),
            Mutation::Delete(i, n) => {
                let from = pos(i).min(len);
                data.drain(from..(from + n).min(len));
            }
            Mutation::Token(i, t) => {
                let at = pos(i);
                data.splice(at..at, TOKENS[t].bytes());
            }
            // A slice of the input repeated: deep nesting, long lists.
            Mutation::Repeat(i, n) => {
                let from = pos(i).min(len);
                let chunk: Vec<u8> = data[from..(from + 16).min(len)].to_vec();
                for _ in 0..n {
                    data.splice(from..from, chunk.iter().copied());
                }
            }
            Mutation::Cut(i) => data.truncate(pos(i)),
        }
    }
    data
}

fn run(name: &str) {
    let target: Target = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"))
        .1;
    let seeds = seeds(name);
    assert!(!seeds.is_empty(), "fuzz/seeds/{name} is empty");
    // Every seed as it is first: a seed the target rejects would waste the fuzzer's time.
    for seed in &seeds {
        target(seed);
    }
    let input = prop_oneof![
        4 => (0..seeds.len(), proptest::collection::vec(mutation(), 1..8))
            .prop_map(move |(seed, mutations)| apply(seeds[seed].clone(), &mutations)),
        1 => proptest::collection::vec(any::<u8>(), 0..512),
    ];
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&input, |data| {
        std::panic::catch_unwind(|| target(&data)).map_err(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            TestCaseError::fail(message)
        })
    });
    if let Err(err) = result {
        panic!("fuzz target {name}: {err}");
    }
}

macro_rules! targets {
    ($($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name));
            }
        )+

        #[test]
        fn every_target_has_a_test_a_fuzz_binary_and_seeds() {
            let tested = [$(stringify!($name)),+];
            for (name, _) in TARGETS {
                assert!(tested.contains(name), "{name} has no test here");
                let binary = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
                let source = std::fs::read_to_string(&binary)
                    .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
                assert!(
                    source.contains(&format!("fuzzing::{name}(")),
                    "{} does not call fuzzing::{name}",
                    binary.display()
                );
                let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
                assert!(
                    manifest.contains(&format!("name = \"{name}\"")),
                    "fuzz/Cargo.toml has no [[bin]] {name}"
                );
            }
            assert_eq!(tested.len(), TARGETS.len());
        }
    };
}

targets!(
    statuspage,
    slack,
    instatus,
    incident_io,
    better_stack,
    cachet,
    statuspal,
    status_io,
    gcp,
    aws_health,
    feed,
    html,
    config,
    state_item,
    dynamodb_stream,
    signing,
);
