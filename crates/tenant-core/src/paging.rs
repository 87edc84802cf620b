//! Keyset paging shared by every list, and the search lists filter by.

/// A page of a keyset-paginated list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next_cursor: Option<String>,
}

/// A case-insensitive `like` pattern (with `escape '\\'`) matching text that contains
/// `q`; `None` for a blank search.
pub(crate) fn like_pattern(q: &str) -> Option<String> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let escaped: String = q
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    Some(format!("%{escaped}%"))
}

/// A list's `?q=`: rows whose text contains `q`, case-insensitively. PostgreSQL answers the
/// `like` pattern from trigram indexes; SQLite answers searches of three characters or
/// more from its FTS5 trigram tables (`phrase`) and scans for shorter ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Search {
    /// The `like` pattern (with `escape '\\'`).
    pub pattern: String,
    /// The FTS5 phrase query, when the text is long enough for a trigram index.
    pub phrase: Option<String>,
}

impl Search {
    /// The search for `q`; `None` for a blank one.
    pub(crate) fn of(q: Option<&str>) -> Option<Search> {
        let q = q?.trim();
        let pattern = like_pattern(q)?;
        let phrase = (q.chars().count() >= 3).then(|| format!("\"{}\"", q.replace('"', "\"\"")));
        Some(Search { pattern, phrase })
    }

    /// The condition (starting with `and`) for a list of `kind` (`user`, `project`) whose
    /// id column is `id`, whose `like` columns are `columns`, with the pattern or phrase
    /// bound as `$n`; `and $n = ''` when there is no search (bind `""` then).
    pub(crate) fn clause(
        search: Option<&Search>,
        sqlite: bool,
        kind: &str,
        id: &str,
        columns: &[&str],
        n: u8,
    ) -> String {
        match search {
            None => format!("and ${n} = ''"),
            Some(Search {
                phrase: Some(_), ..
            }) if sqlite => format!(
                "and {id} in (select k.item_id from {kind}s_search s cross join search_keys k on k.search_key = s.rowid where s.{kind}s_search match ${n} and k.kind = '{kind}')"
            ),
            Some(_) => {
                let alternatives: Vec<String> = columns
                    .iter()
                    .map(|column| format!("{column} like ${n} escape '\\'"))
                    .collect();
                format!("and ({})", alternatives.join(" or "))
            }
        }
    }

    /// What `$n` of [`Search::clause`] is bound to.
    pub(crate) fn bound(search: Option<&Search>, sqlite: bool) -> &str {
        match search {
            None => "",
            Some(Search {
                phrase: Some(phrase),
                ..
            }) if sqlite => phrase,
            Some(search) => &search.pattern,
        }
    }
}
