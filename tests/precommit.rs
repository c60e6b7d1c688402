//! `.pre-commit-hooks.yaml` through the real `pre-commit` tool (PyPI), as a user gets it: a
//! throwaway git repository whose `.pre-commit-config.yaml` points at a copy of this repository,
//! the hooks installed as a git hook, a commit of a malicious pickle refused, a commit of a clean
//! model accepted, the prompt, policy and lineage hooks judged on a failing and a passing file
//! each, and the AI-BOM hook failing exactly as the subcommand does on the same tree.
//!
//! pre-commit builds the hook with `cargo install` (a release build). To keep reruns cheap the
//! copy of this repository lives at a fixed path with a deterministic commit (fixed author and
//! dates), so unchanged sources give the same `rev` and pre-commit reuses its environment, and
//! `CARGO_TARGET_DIR` is a persistent `target/precommit/cargo-target`, so changed sources rebuild
//! incrementally. `.ci/run` installs pre-commit; in CI (`CI` set) a missing tool fails this test,
//! elsewhere it is skipped with a notice on stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pre_commit() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("LLMGUARD_PRE_COMMIT").map(PathBuf::from),
        Some(repo().join(".ci/tools/venv/bin/pre-commit")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

fn git(dir: &Path, args: &[&str]) -> Output {
    git_with(dir, args, &[])
}

fn git_with(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    Command::new("git")
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "llmguard test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "llmguard test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs")
}

fn ok(o: Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{what} failed:\n{text}");
    text
}

/// A copy of this work tree (tracked and untracked-but-not-ignored files, as `pre-commit
/// try-repo` would take them, without the fuzz corpus) committed deterministically.
fn hook_repo(dest: &Path) -> String {
    if dest.exists() {
        std::fs::remove_dir_all(dest).unwrap();
    }
    std::fs::create_dir_all(dest).unwrap();
    let files = ok(
        git(
            &repo(),
            &["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        ),
        "git ls-files",
    );
    let mut count = 0;
    for f in files.split('\0').filter(|f| !f.is_empty() && !f.starts_with("fuzz/")) {
        let from = repo().join(f);
        if !from.is_file() {
            continue; // deleted in the work tree but still in the index
        }
        let to = dest.join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
        count += 1;
    }
    assert!(count > 10 && dest.join(".pre-commit-hooks.yaml").is_file());
    ok(git(dest, &["init", "-q", "-b", "main"]), "git init");
    ok(git(dest, &["add", "-A"]), "git add");
    ok(git(dest, &["commit", "-q", "-m", "hooks under test"]), "git commit");
    ok(git(dest, &["rev-parse", "HEAD"]), "git rev-parse")
        .trim()
        .to_string()
}

#[test]
fn hooks_fail_on_a_malicious_pickle_and_pass_on_clean_files() {
    let Some(tool) = pre_commit() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but pre-commit is not installed (see .ci/run)"
        );
        eprintln!("SKIPPED: pre-commit not installed; run .ci/run or set LLMGUARD_PRE_COMMIT");
        return;
    };
    let started = Instant::now();
    let state = repo().join("target/precommit");
    let hooks = state.join("hook-repo");
    let rev = hook_repo(&hooks);

    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    ok(git(w, &["init", "-q", "-b", "main"]), "git init");
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: llmguard-scan-model\n      - id: llmguard-scan-prompts\n      - id: llmguard-lint-policy\n      - id: llmguard-check-lineage\n      - id: llmguard-aibom\n",
        hooks.display()
    );
    std::fs::write(w.join(".pre-commit-config.yaml"), config).unwrap();
    std::fs::create_dir_all(w.join("models")).unwrap();
    std::fs::copy(
        repo().join("testdata/models/malicious/proto0_global_os_system.pkl"),
        w.join("models/evil.pkl"),
    )
    .unwrap();
    std::fs::copy(
        repo().join("testdata/models/benign/torch/linear_state_dict.pt"),
        w.join("models/clean.pt"),
    )
    .unwrap();
    std::fs::copy(
        repo().join("testdata/prompts/samples/malicious/dan.txt"),
        w.join("dan.txt"),
    )
    .unwrap();
    std::fs::copy(
        repo().join("testdata/prompts/samples/benign/security_article.md"),
        w.join("article.md"),
    )
    .unwrap();

    let home = state.join("home");
    let cargo_target = state.join("cargo-target");
    // The git hook calls pre-commit, which must find the same environments.
    let hook_env: [(&str, &Path); 3] = [
        ("PRE_COMMIT_HOME", &home),
        ("CARGO_TARGET_DIR", &cargo_target),
        ("NO_COLOR", Path::new("1")),
    ];
    let pc = |args: &[&str]| {
        Command::new(&tool)
            .args(args)
            .current_dir(w)
            .env("PRE_COMMIT_HOME", &home)
            .env("CARGO_TARGET_DIR", &cargo_target)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("NO_COLOR", "1")
            .output()
            .expect("pre-commit runs")
    };
    ok(pc(&["install"]), "pre-commit install");
    ok(git(w, &["add", ".pre-commit-config.yaml"]), "git add");
    let build = Instant::now();
    ok(
        pc(&["install-hooks"]),
        "pre-commit install-hooks (cargo install of llmguard)",
    );
    eprintln!("hook environment ready in {:.1?}", build.elapsed());

    // Commit 1: the malicious pickle. The git hook runs llmguard-scan-model and refuses it.
    ok(git(w, &["add", "models/evil.pkl"]), "git add");
    let refused = git_with(w, &["commit", "-m", "add a model"], &hook_env);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        !refused.status.success(),
        "the commit of a malicious pickle went through:\n{text}"
    );
    assert!(text.contains("llmguard scan-model"), "{text}");
    assert!(text.contains("Failed"), "{text}");
    assert!(text.contains("MOD101 pickle-dangerous-import"), "{text}");
    assert!(text.contains("os.system"), "{text}");
    assert!(text.contains("FAIL: findings at or above high"), "{text}");
    assert!(
        !git(w, &["rev-parse", "--verify", "-q", "HEAD"]).status.success(),
        "no commit was made"
    );

    // Commit 2: the clean model instead. The same hook passes and the commit is made.
    ok(git(w, &["rm", "-q", "--cached", "models/evil.pkl"]), "git rm");
    ok(git(w, &["add", "models/clean.pt"]), "git add");
    let text = ok(
        git_with(w, &["commit", "-m", "add a clean model"], &hook_env),
        "commit of a clean model",
    );
    assert!(
        text.contains("llmguard scan-model") && text.contains("Passed"),
        "{text}"
    );
    assert!(!text.contains("Failed"), "{text}");

    // The prompt hook, on files named explicitly.
    let o = pc(&["run", "llmguard-scan-prompts", "--files", "dan.txt"]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("llmguard scan-prompts") && text.contains("Failed"),
        "{text}"
    );
    assert!(text.contains("PRM1"), "an injection finding: {text}");
    let text = ok(
        pc(&["run", "llmguard-scan-prompts", "--files", "article.md"]),
        "scan-prompts on a benign article",
    );
    assert!(text.contains("Passed"), "{text}");
    // The model hook does not pick up prompt files, nor the prompt hook model files.
    let text = ok(
        pc(&["run", "llmguard-scan-model", "--files", "article.md"]),
        "scan-model on an article",
    );
    assert!(text.contains("(no files to check)Skipped"), "{text}");

    // The policy hook: a wildcard grant over restricted collections fails, the README's
    // least-privilege example passes.
    for (from, to) in [
        (
            "testdata/policy/native/POL011-wildcard-resource.yaml",
            "policies/wide.yaml",
        ),
        ("examples/policy/vector-db-rbac.yaml", "policies/tight.yaml"),
        (
            "testdata/lineage/good/dataset_metadata.json",
            "data/good/dataset_metadata.json",
        ),
        ("testdata/lineage/good/train.csv", "data/good/train.csv"),
        (
            "testdata/lineage/good/dataset_metadata.json",
            "data/bad/dataset_metadata.json",
        ),
        ("testdata/lineage/good/train.csv", "data/bad/train.csv"),
    ] {
        std::fs::create_dir_all(w.join(to).parent().unwrap()).unwrap();
        std::fs::copy(repo().join(from), w.join(to)).unwrap();
    }
    let o = pc(&["run", "llmguard-lint-policy", "--files", "policies/wide.yaml"]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("POL011"), "{text}");
    let text = ok(
        pc(&["run", "llmguard-lint-policy", "--files", "policies/tight.yaml"]),
        "lint-policy on the example policy",
    );
    assert!(
        text.contains("llmguard lint-policy") && text.contains("Passed"),
        "{text}"
    );

    // The lineage hook: verified metadata passes; the same metadata over changed data fails.
    let text = ok(
        pc(&[
            "run",
            "llmguard-check-lineage",
            "--files",
            "data/good/dataset_metadata.json",
        ]),
        "check-lineage on verified metadata",
    );
    assert!(
        text.contains("llmguard check-lineage") && text.contains("Passed"),
        "{text}"
    );
    let mut csv = std::fs::read(w.join("data/bad/train.csv")).unwrap();
    csv.extend_from_slice(b"tampered,row\n");
    std::fs::write(w.join("data/bad/train.csv"), csv).unwrap();
    let o = pc(&[
        "run",
        "llmguard-check-lineage",
        "--files",
        "data/bad/dataset_metadata.json",
    ]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("LIN061"), "{text}");

    // The AI-BOM hook inventories the whole repository whatever file triggers it, and fails as
    // the subcommand does there: the malicious pickle is still in the work tree, unstaged.
    let direct = Command::new(env!("CARGO_BIN_EXE_llmguard"))
        .args(["aibom", "--format", "table", "--no-progress", "-q", "."])
        .current_dir(w)
        .output()
        .unwrap();
    let o = pc(&["run", "llmguard-aibom", "--files", "models/clean.pt"]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text.contains("llmguard aibom"), "{text}");
    assert_eq!(o.status.code(), direct.status.code(), "{text}");
    eprintln!("pre-commit test took {:.1?}", started.elapsed());
}
