//! The composite action (`action.yml`) run locally, the way a GitHub runner runs it: nothing here
//! can start a real runner, so this harness reads the steps from `action.yml`, resolves each
//! step's `env:`/`with:`/`if:` expressions from the inputs (defaults from the file, overridden per
//! test) and earlier steps' outputs, and runs every `run:` script with
//! `bash --noprofile --norc -eo pipefail FILE`, as the runner does for `shell: bash`, with fresh
//! `GITHUB_OUTPUT` files. The two `uses:` steps are emulated: `actions/cache` restores a binary
//! built from these sources (the test binary, with the source-key stamp the build step writes),
//! so the build step takes its cached path; `upload-sarif` is recorded with its resolved `with:`.
//! One test takes the cache-miss path with a stand-in `cargo` that records its arguments.

use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const MALICIOUS: &str = "testdata/models/malicious/proto0_global_os_system.pkl";
const CLEAN: &str = "testdata/models/benign/torch/linear_state_dict.pt";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn action() -> Value {
    let text = std::fs::read_to_string(repo().join("action.yml")).expect("action.yml");
    serde_yaml_ng::from_str(&text).expect("action.yml parses")
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => panic!("not a scalar: {other:?}"),
    }
}

#[derive(Default)]
struct Run {
    /// Outputs of the action, from its `outputs:` block.
    outputs: BTreeMap<String, String>,
    /// Whether the action's step would be marked failed.
    failed: bool,
    /// Everything the `run:` scripts printed.
    log: String,
    /// `with:` of each emulated upload-sarif call.
    uploads: Vec<BTreeMap<String, String>>,
    /// The names of the steps that ran.
    ran: Vec<String>,
}

enum Cache {
    /// actions/cache restores a build of these sources.
    Hit,
    /// Nothing restored; `fake_cargo` (a directory holding a `cargo` script) goes first on PATH.
    Miss { fake_cargo: PathBuf },
}

struct Runner {
    workspace: PathBuf,
    temp: tempfile::TempDir,
    cache: Cache,
}

impl Runner {
    fn new(workspace: &Path) -> Runner {
        Runner {
            workspace: workspace.to_path_buf(),
            temp: tempfile::tempdir().unwrap(),
            cache: Cache::Hit,
        }
    }

    fn runner_temp(&self) -> PathBuf {
        self.temp.path().join("runner-temp")
    }

    fn run(&self, with: &[(&str, &str)]) -> Run {
        let action = action();
        let mut inputs = BTreeMap::new();
        for (name, spec) in action["inputs"].as_mapping().expect("inputs") {
            inputs.insert(s(name), s(&spec["default"]));
        }
        for (k, v) in with {
            assert!(inputs.contains_key(*k), "action.yml has no input {k}");
            inputs.insert(k.to_string(), v.to_string());
        }
        std::fs::create_dir_all(self.runner_temp()).unwrap();
        let mut steps: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut out = Run::default();
        let runs = &action["runs"];
        assert_eq!(s(&runs["using"]), "composite");
        for (i, step) in runs["steps"].as_sequence().expect("steps").iter().enumerate() {
            let ctx = Ctx {
                inputs: &inputs,
                steps: &steps,
                runner: self,
            };
            let name = s(&step["name"]);
            let should_run = match step.get("if") {
                None => !out.failed,
                Some(cond) => !out.failed && ctx.condition(&s(cond)),
            };
            if !should_run {
                continue;
            }
            out.ran.push(name.clone());
            let id = step.get("id").map(s).unwrap_or_else(|| format!("__{i}"));
            let resolved = |key: &str| -> BTreeMap<String, String> {
                step.get(key)
                    .and_then(Value::as_mapping)
                    .map(|m| m.iter().map(|(k, v)| (s(k), ctx.expand(&s(v)))).collect())
                    .unwrap_or_default()
            };
            if let Some(uses) = step.get("uses") {
                let uses = s(uses);
                let with = resolved("with");
                if uses.starts_with("actions/cache@") {
                    if let Cache::Hit = self.cache {
                        restore_cache(Path::new(&with["path"]), &steps["key"]["key"]);
                    }
                } else if uses.starts_with("github/codeql-action/upload-sarif@") {
                    out.uploads.push(with);
                } else {
                    panic!("no emulation for {uses}");
                }
                continue;
            }
            assert_eq!(s(&step["shell"]), "bash", "{name}");
            let env = resolved("env");
            let (code, outputs, log) = self.bash(&s(&step["run"]), &env);
            out.log.push_str(&log);
            steps.insert(id, outputs);
            if code != 0 {
                out.failed = true;
            }
        }
        let ctx = Ctx {
            inputs: &inputs,
            steps: &steps,
            runner: self,
        };
        for (name, spec) in action["outputs"].as_mapping().expect("outputs") {
            out.outputs.insert(s(name), ctx.expand(&s(&spec["value"])));
        }
        out
    }

    fn bash(&self, script: &str, env: &BTreeMap<String, String>) -> (i32, BTreeMap<String, String>, String) {
        let dir = tempfile::tempdir_in(self.temp.path()).unwrap();
        let file = dir.path().join("step.sh");
        std::fs::write(&file, script).unwrap();
        let output_file = dir.path().join("output");
        std::fs::write(&output_file, "").unwrap();
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(&self.workspace)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_ACTION_PATH", repo())
            .env("GITHUB_WORKSPACE", &self.workspace)
            .env("RUNNER_TEMP", self.runner_temp())
            .envs(env);
        if let Cache::Miss { fake_cargo } = &self.cache {
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env("PATH", format!("{}:{path}", fake_cargo.display()));
        }
        let child = {
            let _guard = FORK_LOCK.read().unwrap_or_else(|e| e.into_inner());
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("bash runs")
        };
        let o = child.wait_with_output().expect("bash runs");
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let outputs = parse_output_file(&std::fs::read_to_string(&output_file).unwrap());
        (o.status.code().unwrap_or(-1), outputs, log)
    }
}

/// Serialises writing executables against forking (see `restore_cache`).
static FORK_LOCK: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// What actions/cache would restore after a run that built these sources: the binary and the
/// stamp the build step writes beside it.
fn restore_cache(root: &Path, key: &str) {
    std::fs::create_dir_all(root.join("bin")).unwrap();
    // No process may be forked while the copy is open for writing: the child would hold the
    // write descriptor until it execs, and running the copy meanwhile fails with "Text file
    // busy" (ETXTBSY). Copies take the lock exclusively, spawns shared.
    let _guard = FORK_LOCK.write().unwrap_or_else(|e| e.into_inner());
    std::fs::copy(env!("CARGO_BIN_EXE_llmguard"), root.join("bin/llmguard")).unwrap();
    std::fs::write(root.join("source-key"), format!("{key}\n")).unwrap();
}

/// `name=value` lines and `name<<DELIM … DELIM` blocks, as the runner reads GITHUB_OUTPUT.
fn parse_output_file(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            map.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            map.insert(name.to_string(), value.to_string());
        } else if !line.is_empty() {
            panic!("malformed GITHUB_OUTPUT line: {line:?}");
        }
    }
    map
}

struct Ctx<'a> {
    inputs: &'a BTreeMap<String, String>,
    steps: &'a BTreeMap<String, BTreeMap<String, String>>,
    runner: &'a Runner,
}

impl Ctx<'_> {
    /// The value of one context reference; an expression this harness does not know fails the
    /// test, so action.yml cannot grow expressions the emulation silently gets wrong.
    fn lookup(&self, expr: &str) -> String {
        let parts: Vec<&str> = expr.split('.').collect();
        match parts.as_slice() {
            ["inputs", name] => self
                .inputs
                .get(*name)
                .cloned()
                .unwrap_or_else(|| panic!("no input {name}")),
            ["steps", id, "outputs", name] => self
                .steps
                .get(*id)
                .and_then(|o| o.get(*name))
                .cloned()
                .unwrap_or_default(),
            ["runner", "temp"] => self.runner.runner_temp().display().to_string(),
            ["runner", "os"] => "Linux".into(),
            ["runner", "arch"] => "X64".into(),
            _ => panic!("expression not emulated: {expr}"),
        }
    }

    fn expand(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("closing }}") + start;
            out.push_str(&self.lookup(rest[start + 3..end].trim()));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// `a == 'x' && b != ''`: the only form of `if:` the action uses.
    fn condition(&self, cond: &str) -> bool {
        cond.split("&&").all(|term| {
            let (lhs, op, rhs) = if let Some((l, r)) = term.split_once("==") {
                (l, true, r)
            } else if let Some((l, r)) = term.split_once("!=") {
                (l, false, r)
            } else {
                panic!("condition not emulated: {cond}")
            };
            let rhs = rhs.trim();
            assert!(rhs.starts_with('\'') && rhs.ends_with('\''), "literal expected: {cond}");
            (self.lookup(lhs.trim()) == rhs[1..rhs.len() - 1]) == op
        })
    }
}

fn sarif(run: &Run, workspace: &Path) -> serde_json::Value {
    let file = &run.outputs["sarif-file"];
    assert!(!file.is_empty(), "no SARIF written:\n{}", run.log);
    serde_json::from_slice(&std::fs::read(workspace.join(file)).expect("SARIF file")).expect("SARIF is JSON")
}

fn rule_ids(sarif: &serde_json::Value) -> Vec<String> {
    sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap().to_string())
        .collect()
}

/// A workspace outside the repository, so SARIF files the tests write stay out of the tree.
fn workspace_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (to, from) in files {
        let to = dir.path().join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(from), to).unwrap();
    }
    dir
}

#[test]
fn malicious_model_exits_1_and_the_sarif_is_uploaded_before_the_step_fails() {
    let ws = workspace_with(&[("models/evil.pkl", MALICIOUS)]);
    let run = Runner::new(ws.path()).run(&[("paths", "models"), ("upload-sarif", "true")]);
    assert_eq!(run.outputs["exit-code"], "1", "{}", run.log);
    assert!(run.failed, "findings at or above high fail the step");
    assert!(rule_ids(&sarif(&run, ws.path())).iter().any(|r| r == "MOD101"));
    assert_eq!(run.uploads.len(), 1, "uploaded although the scan found something");
    assert_eq!(run.uploads[0]["sarif_file"], "llmguard.sarif");
    assert_eq!(run.uploads[0]["category"], "llmguard-scan-model");
    // Upload, then the verdict: the step that fails is the last one.
    assert_eq!(run.ran.last().map(String::as_str), Some("Verdict"));
    assert!(
        run.log.contains("llmguard already built from these sources"),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("::error::llmguard: findings at or above high"),
        "{}",
        run.log
    );
}

#[test]
fn fail_on_never_and_clean_files_exit_0() {
    let ws = workspace_with(&[("evil.pkl", MALICIOUS), ("clean.pt", CLEAN)]);
    let never = Runner::new(ws.path()).run(&[("paths", "evil.pkl"), ("fail-on", "never")]);
    assert_eq!(never.outputs["exit-code"], "0", "{}", never.log);
    assert!(!never.failed);
    assert!(
        !rule_ids(&sarif(&never, ws.path())).is_empty(),
        "findings are still reported"
    );
    assert!(never.uploads.is_empty(), "upload-sarif defaults to false");

    let clean = Runner::new(ws.path()).run(&[("paths", "clean.pt"), ("fail-on", "info")]);
    assert_eq!(clean.outputs["exit-code"], "0", "{}", clean.log);
    assert!(!clean.failed);
    assert!(rule_ids(&sarif(&clean, ws.path())).is_empty());
}

#[test]
fn fail_on_findings_false_reports_through_the_output_only() {
    let ws = workspace_with(&[("evil.pkl", MALICIOUS)]);
    let run = Runner::new(ws.path()).run(&[("paths", "evil.pkl"), ("fail-on-findings", "false")]);
    assert_eq!(run.outputs["exit-code"], "1");
    assert!(!run.failed, "{}", run.log);
    assert!(run.log.contains("::warning::llmguard: findings at or above high"));
}

#[test]
fn paths_with_spaces_one_per_line() {
    let ws = workspace_with(&[("dir a/evil model.pkl", MALICIOUS), ("clean one.pt", CLEAN)]);
    let both = Runner::new(ws.path()).run(&[("paths", "dir a/evil model.pkl\n\nclean one.pt\n")]);
    assert_eq!(both.outputs["exit-code"], "1", "{}", both.log);
    assert!(
        both.log.contains(r"-- dir\ a/evil\ model.pkl clean\ one.pt"),
        "{}",
        both.log
    );
    let uris: Vec<String> = sarif(&both, ws.path())["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(uris.iter().all(|u| u == "dir%20a/evil%20model.pkl"), "{uris:?}");
    // Split on spaces, `clean one.pt` would be two missing paths: exit 2.
    let clean = Runner::new(ws.path()).run(&[("paths", "clean one.pt"), ("sarif-file", "out dir/r.sarif")]);
    assert_eq!(clean.outputs["exit-code"], "0", "{}", clean.log);
    assert_eq!(clean.outputs["sarif-file"], "out dir/r.sarif");
    assert!(ws.path().join("out dir/r.sarif").is_file());
}

#[test]
fn hostile_input_values_are_data_not_shell() {
    // Every step runs in the workspace, so an executed `touch pwned` would create this file.
    let ws = tempfile::tempdir().unwrap();
    let pwned = ws.path().join("pwned");
    let hostile = [
        ("paths", "x; touch pwned\n$(touch pwned)\n`touch pwned`"),
        ("args", "--jobs $(touch pwned) ; touch pwned"),
        ("config", "c.toml; touch pwned"),
        ("fail-on", "high'; touch pwned; '"),
        ("command", "scan-model; touch pwned"),
        ("public-keys", "k.pub; touch pwned\n$(touch pwned)"),
        ("verify-signature", "true; touch pwned"),
    ];
    for (input, value) in hostile {
        let run = Runner::new(ws.path()).run(&[(input, value)]);
        assert!(!pwned.exists(), "{input} = {value:?} was executed:\n{}", run.log);
        assert_eq!(run.outputs["exit-code"], "2", "{input}: {}", run.log);
        assert!(run.failed, "a failed run fails the step");
    }
    // A file name is just a name: the report lands under it, literally.
    let run = Runner::new(ws.path()).run(&[("sarif-file", "r$(touch pwned).sarif")]);
    assert!(!pwned.exists(), "{}", run.log);
    assert_eq!(run.outputs["exit-code"], "0", "{}", run.log);
    assert!(ws.path().join("r$(touch pwned).sarif").is_file());
    let run = Runner::new(ws.path()).run(&[("command", "scan-model\n::warning::forged")]);
    assert!(run.log.contains("::error::unknown command"), "{}", run.log);
    assert!(
        !run.log.lines().any(|l| l.starts_with("::warning::forged")),
        "{}",
        run.log
    );
    let run = Runner::new(ws.path()).run(&[("sarif-file", "a.sarif\nexit-code=0")]);
    assert_eq!(
        run.outputs["exit-code"], "2",
        "a newline cannot forge an output: {}",
        run.log
    );
}

#[test]
fn signature_inputs_verify_oms_signatures() {
    let signed = "testdata/signing/models/key-ok";
    let ws = workspace_with(&[
        ("models/bert/config.json", &format!("{signed}/config.json")),
        ("models/bert/model.safetensors", &format!("{signed}/model.safetensors")),
        (
            "models/bert/tokenizer/vocab.txt",
            &format!("{signed}/tokenizer/vocab.txt"),
        ),
        ("models/bert/model.sig", &format!("{signed}/model.sig")),
        ("keys/team key.pub", "testdata/signing/keys/team.pub"),
    ]);
    let verified = Runner::new(ws.path()).run(&[("paths", "models"), ("public-keys", "keys/team key.pub\n")]);
    assert_eq!(verified.outputs["exit-code"], "0", "{}", verified.log);
    assert!(
        verified.log.contains(r"--public-key keys/team\ key.pub -- models"),
        "{}",
        verified.log
    );
    assert!(rule_ids(&sarif(&verified, ws.path())).iter().any(|r| r == "MOD610"));
    // A changed byte fails the step; an unsigned model does too once verification is on.
    let weights = ws.path().join("models/bert/model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&weights, bytes).unwrap();
    let tampered = Runner::new(ws.path()).run(&[("paths", "models"), ("public-keys", "keys/team key.pub")]);
    assert_eq!(tampered.outputs["exit-code"], "1", "{}", tampered.log);
    assert!(tampered.failed);
    assert!(rule_ids(&sarif(&tampered, ws.path())).iter().any(|r| r == "MOD605"));
    std::fs::remove_file(ws.path().join("models/bert/model.sig")).unwrap();
    let unsigned = Runner::new(ws.path()).run(&[("paths", "models"), ("verify-signature", "true")]);
    assert_eq!(unsigned.outputs["exit-code"], "1", "{}", unsigned.log);
    assert!(
        unsigned.log.contains("--verify-signature -- models"),
        "{}",
        unsigned.log
    );
    assert!(rule_ids(&sarif(&unsigned, ws.path())).iter().any(|r| r == "MOD601"));
    // Only scan-model and aibom take them; anything but true/false is refused.
    let wrong = Runner::new(ws.path()).run(&[("command", "scan-prompts"), ("public-keys", "keys/team key.pub")]);
    assert_eq!(wrong.outputs["exit-code"], "2", "{}", wrong.log);
    assert!(wrong.log.contains("scan-model and aibom only"), "{}", wrong.log);
    let wrong = Runner::new(ws.path()).run(&[("verify-signature", "yes")]);
    assert_eq!(wrong.outputs["exit-code"], "2", "{}", wrong.log);
}

#[test]
fn config_is_passed_only_when_given() {
    let ws = workspace_with(&[("clean.pt", CLEAN)]);
    let without = Runner::new(ws.path()).run(&[("paths", "clean.pt")]);
    assert!(!without.log.contains("--config"), "{}", without.log);
    assert_eq!(without.outputs["exit-code"], "0");
    // A config file that does not exist is a run error, before and after `--config` lands.
    let with = Runner::new(ws.path()).run(&[("paths", "clean.pt"), ("config", "my cfg.toml"), ("args", "--jobs 1")]);
    assert!(
        with.log.contains(r"--config my\ cfg.toml --jobs 1 -- clean.pt"),
        "{}",
        with.log
    );
    assert_eq!(with.outputs["exit-code"], "2");
}

#[test]
fn cache_miss_installs_from_the_action_checkout_with_cargo_locked() {
    let ws = workspace_with(&[("clean.pt", CLEAN)]);
    let fake = tempfile::tempdir().unwrap();
    let record = fake.path().join("cargo-args");
    // A stand-in cargo: records its arguments and "installs" the test binary under --root.
    let script = format!(
        "#!/usr/bin/env bash\nset -eu\nprintf '%s\\n' \"$@\" > '{}'\nroot=''\nprev=''\nfor a in \"$@\"; do [[ $prev == --root ]] && root=$a; prev=$a; done\nmkdir -p \"$root/bin\"\ncp '{}' \"$root/bin/llmguard\"\n",
        record.display(),
        env!("CARGO_BIN_EXE_llmguard")
    );
    let cargo = fake.path().join("cargo");
    std::fs::write(&cargo, script).unwrap();
    Command::new("chmod").arg("+x").arg(&cargo).status().unwrap();
    let mut runner = Runner::new(ws.path());
    runner.cache = Cache::Miss {
        fake_cargo: fake.path().to_path_buf(),
    };
    let run = runner.run(&[("paths", "clean.pt")]);
    assert_eq!(run.outputs["exit-code"], "0", "{}", run.log);
    let args = std::fs::read_to_string(&record).expect("cargo ran");
    let args: Vec<&str> = args.lines().collect();
    let root = runner.runner_temp().join("llmguard-action");
    let root = root.to_str().unwrap();
    let action_path = repo();
    let expected = [
        "install",
        "--locked",
        "--force",
        "--root",
        root,
        "--path",
        action_path.to_str().unwrap(),
    ];
    assert_eq!(args, expected);
    let stamp = std::fs::read_to_string(runner.runner_temp().join("llmguard-action/source-key")).unwrap();
    assert_eq!(stamp.trim().len(), 32, "the stamp is the source key");
    // The next run with the same sources reuses the build.
    std::fs::remove_file(&record).unwrap();
    let again = runner.run(&[("paths", "clean.pt")]);
    assert!(!record.exists(), "rebuilt although the sources did not change");
    assert!(again.log.contains("llmguard already built from these sources"));
}

/// The rules zizmor enforces in `.ci/run`, held here too so a plain `cargo test` catches them:
/// no `${{ }}` inside a `run:` script, every action pinned to a full commit SHA with its tag.
#[test]
fn no_expression_in_run_scripts_and_every_action_pinned() {
    let mut files = vec![
        repo().join("action.yml"),
        repo().join("examples/devsecllmops.yml"),
        repo().join("examples/sharded-scan.yml"),
    ];
    let workflows = repo().join(".github/workflows");
    for e in std::fs::read_dir(&workflows).expect(".github/workflows") {
        files.push(e.unwrap().path());
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut steps = Vec::new();
        if let Some(jobs) = doc.get("jobs").and_then(Value::as_mapping) {
            for job in jobs.values() {
                steps.extend(job["steps"].as_sequence().into_iter().flatten());
            }
        } else {
            steps.extend(doc["runs"]["steps"].as_sequence().into_iter().flatten());
        }
        assert!(!steps.is_empty(), "{}", file.display());
        for step in steps {
            if let Some(run) = step.get("run") {
                assert!(
                    !s(run).contains("${{"),
                    "{}: expression inside run: {}",
                    file.display(),
                    s(run)
                );
            }
            if let Some(uses) = step.get("uses") {
                let uses = s(uses);
                if uses.starts_with("./") {
                    continue;
                }
                let (_, sha) = uses.split_once('@').expect("uses has @");
                assert!(
                    sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{}: {uses} is not pinned to a commit",
                    file.display()
                );
                let line = text.lines().find(|l| l.contains(&uses)).unwrap();
                // llmguard's own commit in the example has no release tag yet; its comment says so.
                let tagged = line.contains("# v")
                    || (uses.starts_with("llmguard/llmguard@") && line.contains("no release tag yet"));
                assert!(tagged, "{}: {uses} has no tag comment", file.display());
            }
        }
    }
}

#[test]
fn aibom_writes_the_document_beside_the_sarif() {
    let ws = workspace_with(&[
        (
            "models/bot/model-00001-of-00002.safetensors",
            "testdata/aibom/models/support-bot/model-00001-of-00002.safetensors",
        ),
        (
            "models/bot/model-00002-of-00002.safetensors",
            "testdata/aibom/models/support-bot/model-00002-of-00002.safetensors",
        ),
        (
            "models/bot/config.json",
            "testdata/aibom/models/support-bot/config.json",
        ),
        ("models/bot/README.md", "testdata/aibom/models/support-bot/README.md"),
        ("models/evil.pkl", MALICIOUS),
    ]);
    let run = Runner::new(ws.path()).run(&[
        ("command", "aibom"),
        ("paths", "models"),
        ("args", "--scan"),
        ("bom-file", "reports/aibom.cdx.json"),
        ("upload-sarif", "true"),
    ]);
    assert_eq!(run.outputs["exit-code"], "1", "{}", run.log);
    assert_eq!(run.outputs["bom-file"], "reports/aibom.cdx.json", "{}", run.log);
    let bom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.path().join("reports/aibom.cdx.json")).unwrap()).unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["vulnerabilities"][0]["id"], "MOD101");
    let rules = rule_ids(&sarif(&run, ws.path()));
    assert!(
        rules.iter().any(|r| r == "BOM050") && rules.iter().any(|r| r == "MOD101"),
        "{rules:?}"
    );
    assert_eq!(run.uploads[0]["category"], "llmguard-aibom");
    // Other commands write no document and say so.
    let plain = Runner::new(ws.path()).run(&[("paths", "models/evil.pkl")]);
    assert_eq!(plain.outputs["bom-file"], "");
    // A multi-line bom-file is refused before anything runs.
    let bad = Runner::new(ws.path()).run(&[("command", "aibom"), ("bom-file", "a\nb")]);
    assert_eq!(bad.outputs["exit-code"], "2");
    assert_eq!(bad.outputs["bom-file"], "");
}

/// The signing inputs reach `aibom` too: each model's status and signer land in the document,
/// and a signature that fails verification fails the step as it does for scan-model.
#[test]
fn aibom_takes_the_signature_inputs() {
    let signed = "testdata/signing/models/key-ok";
    let ws = workspace_with(&[
        ("models/bert/config.json", &format!("{signed}/config.json")),
        ("models/bert/model.safetensors", &format!("{signed}/model.safetensors")),
        (
            "models/bert/tokenizer/vocab.txt",
            &format!("{signed}/tokenizer/vocab.txt"),
        ),
        ("models/bert/model.sig", &format!("{signed}/model.sig")),
        ("keys/team key.pub", "testdata/signing/keys/team.pub"),
    ]);
    let status = |ws: &Path| -> (String, Option<String>) {
        let bom: serde_json::Value =
            serde_json::from_slice(&std::fs::read(ws.join("aibom.cdx.json")).unwrap()).unwrap();
        let props = bom["components"][0]["properties"].as_array().unwrap().clone();
        let get = |name: &str| {
            props
                .iter()
                .find(|p| p["name"] == name)
                .map(|p| p["value"].as_str().unwrap().to_string())
        };
        (
            get("llmguard:signature:status").unwrap(),
            get("llmguard:signature:signer"),
        )
    };
    let verified = Runner::new(ws.path()).run(&[
        ("command", "aibom"),
        ("paths", "models"),
        ("public-keys", "keys/team key.pub"),
    ]);
    assert_eq!(verified.outputs["exit-code"], "0", "{}", verified.log);
    assert!(
        verified.log.contains(r"--public-key keys/team\ key.pub -- models"),
        "{}",
        verified.log
    );
    let (state, signer) = status(ws.path());
    assert_eq!(state, "verified");
    assert!(signer.unwrap().starts_with("key keys/team key.pub (ECDSA P-256"));
    let rules = rule_ids(&sarif(&verified, ws.path()));
    assert!(rules.iter().any(|r| r == "MOD610"), "{rules:?}");
    assert!(
        !rules.iter().any(|r| r == "BOM020"),
        "a verified signature is provenance: {rules:?}"
    );
    // Without the key the signature is only seen, never taken as verified.
    let seen = Runner::new(ws.path()).run(&[("command", "aibom"), ("paths", "models")]);
    assert_eq!(seen.outputs["exit-code"], "0", "{}", seen.log);
    assert_eq!(status(ws.path()), ("signed-unverified".to_string(), None));
    // A changed byte: failed in the document, MOD605 in the SARIF, and the step fails.
    let weights = ws.path().join("models/bert/model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&weights, bytes).unwrap();
    let tampered = Runner::new(ws.path()).run(&[
        ("command", "aibom"),
        ("paths", "models"),
        ("public-keys", "keys/team key.pub"),
    ]);
    assert_eq!(tampered.outputs["exit-code"], "1", "{}", tampered.log);
    assert!(tampered.failed);
    assert_eq!(status(ws.path()).0, "failed");
    assert!(rule_ids(&sarif(&tampered, ws.path())).iter().any(|r| r == "MOD605"));
}

/// Every entry of the self-scan matrix in `.github/workflows/ci.yml`, run here as its job runs
/// there: the exit code must be the entry's `expect`, and a tree expected to fail must have a
/// finding on every file (the job's own check), so a matrix entry can never go stale unseen.
#[test]
fn the_ci_self_scan_matrix_gives_its_expected_verdicts() {
    let text = std::fs::read_to_string(repo().join(".github/workflows/ci.yml")).expect("ci.yml");
    let ci: Value = serde_yaml_ng::from_str(&text).expect("ci.yml parses");
    let entries = ci["jobs"]["self-scan"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .expect("a self-scan matrix");
    assert!(entries.len() >= 6, "{entries:?}");
    for e in entries {
        let (command, paths, fail_on, expect) = (s(&e["command"]), s(&e["paths"]), s(&e["fail-on"]), s(&e["expect"]));
        let o = Command::new(env!("CARGO_BIN_EXE_llmguard"))
            .current_dir(repo())
            .args([command.as_str(), paths.as_str(), "--fail-on", fail_on.as_str()])
            .args(["--format", "sarif", "-q", "--no-progress"])
            .output()
            .unwrap();
        let code = o.status.code().unwrap_or(-1).to_string();
        assert_eq!(
            code,
            expect,
            "{command} {paths}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        if expect == "1" {
            let sarif: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            let flagged: std::collections::BTreeSet<&str> = sarif["runs"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
                .collect();
            let files = walkdir_count(&repo().join(&paths));
            assert_eq!(flagged.len(), files, "{command} {paths}: {flagged:?}");
        }
    }
}

fn walkdir_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { walkdir_count(&p) } else { 1 })
        .sum()
}
