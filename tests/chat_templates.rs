//! Chat-template gadget matching on whole templates: the realistic templates of popular models
//! (testdata/chat_templates/benign, written after their public Hugging Face templates) produce
//! nothing, and injection gadgets in every style are found, obfuscated or not.

use llmguard::finding::Severity;
use llmguard::model::jinja::normalise;
use llmguard::rules::RuleSet;

#[test]
fn realistic_templates_of_popular_models_produce_nothing() {
    let rules = RuleSet::builtin().unwrap();
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir("testdata/chat_templates/benign")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap();
        let hits = rules.chat_template().check(&normalise(&text));
        assert!(hits.is_empty(), "{}: {hits:?}", path.display());
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} benign templates");
}

#[test]
fn gadgets_are_found_in_every_style() {
    let rules = RuleSet::builtin().unwrap();
    let llama3 = std::fs::read_to_string("testdata/chat_templates/benign/llama3.jinja").unwrap();
    let cases: &[(&str, Severity)] = &[
        (
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            Severity::Critical,
        ),
        (
            "{{- joiner.__init__.__globals__.os.system('id') -}}",
            Severity::Critical,
        ),
        (
            "{{ namespace.__init__.__globals__['os'].popen('id') }}",
            Severity::Critical,
        ),
        (
            "{{ lipsum.__globals__.__builtins__.__import__('os').popen('id') }}",
            Severity::Critical,
        ),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", Severity::Critical),
        ("{{ self.__init__.__globals__.__builtins__ }}", Severity::Critical),
        ("{{ request.application.__globals__ }}", Severity::Critical),
        ("{{ config.items() }}", Severity::Critical),
        ("{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f') }}", Severity::Critical),
        (
            "{{ ()|attr(\"\\u005f\\u005fclass\\u005f\\u005f\") }}",
            Severity::Critical,
        ),
        ("{{ ()|attr('\\137\\137class\\137\\137') }}", Severity::Critical),
        ("{% set a = '__cla' + 'ss__' %}{{ ()|attr(a) }}", Severity::Critical),
        ("{{ ()|attr('__cla' ~ 'ss__') }}", Severity::Critical),
        ("{{ ()|attr(['__', 'class', '__']|join) }}", Severity::Critical),
        ("{{ x|attr(name) }}", Severity::High),
        ("{{ (()|select|string)[24] }}", Severity::High),
    ];
    for (gadget, want) in cases {
        for text in [
            gadget.to_string(),
            format!("{llama3}{gadget}"),
            format!("{gadget}{llama3}"),
        ] {
            let hits = rules.chat_template().check(&normalise(&text));
            let worst = hits.iter().map(|h| h.severity).max();
            assert_eq!(worst, Some(*want), "{gadget}: {hits:?}");
        }
    }
}

#[test]
fn gadgets_in_literal_text_or_comments_do_not_count() {
    let rules = RuleSet::builtin().unwrap();
    for text in [
        "You can call os.system or cycler.__init__ in Python. {{ messages[0]['content'] }}",
        "{# {{ cycler.__init__.__globals__ }} #}{{ bos_token }}",
        "{% raw %}{{ lipsum.__globals__ }}{% endraw %}",
        "{{ 'Explain what __init__ and os.popen do.' }}",
    ] {
        let hits = rules.chat_template().check(&normalise(text));
        assert!(
            hits.iter()
                .all(|h| h.severity < Severity::Critical || h.gadget.starts_with("dunder")),
            "{text}: {hits:?}"
        );
    }
}
