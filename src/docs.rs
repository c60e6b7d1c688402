//! Rule documentation, rendered from the catalogue for `llmguard explain` and `docs/rules/`.

use crate::rules::Rule;

/// The Markdown page of one rule (`docs/rules/<ID>.md`).
pub fn rule_page(rule: Rule) -> String {
    format!(
        "# {id} {name}\n\n\
         *Default severity:* **{sev}**\n\n\
         {summary}\n\n\
         ## What it means\n\n{doc}\n\n\
         ## Example\n\n{example}\n\n\
         ## How to fix\n\n{fix}\n",
        id = rule.id(),
        name = rule.name(),
        sev = rule.default_severity(),
        summary = rule.summary(),
        doc = rule.doc(),
        example = rule.example(),
        fix = rule.fix(),
    )
}

/// The index page (`docs/rules/README.md`).
pub fn index_page() -> String {
    let mut s = String::from(
        "# Rules\n\nGenerated from `rules/catalog.yaml` by the test `docs_are_generated` (run it with \
         `LLMGUARD_BLESS=1` to rewrite these pages). `llmguard rules` prints the same list.\n\n\
         | Id | Name | Default severity | Summary |\n|---|---|---|---|\n",
    );
    for r in Rule::ALL {
        s.push_str(&format!(
            "| [{id}]({id}.md) | `{}` | {} | {} |\n",
            r.name(),
            r.default_severity(),
            r.summary(),
            id = r.id()
        ));
    }
    s
}
