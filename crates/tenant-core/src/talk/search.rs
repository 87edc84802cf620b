//! Search over what people write (`GET /api/v1/search?q=`): projects, tasks,
//! discussions, comments and client messages, chat messages and file names, best first,
//! each with a snippet whose matched words are marked.
//!
//! The words live in one index per brand (SQLite FTS5, PostgreSQL full-text search),
//! written by triggers in the same transaction as the change (migration
//! `0016_search_talk`). Every word of the query must match, whole or by its beginning.
//! Who may see a found item is decided when searching, from the item as it is now, by the
//! same rules as the item's own module: the project within reach; an internal item never
//! for a client contact; a comment as its task, discussion or the client messages; the
//! conversation's permission; a chat message for its channel's members; a file not in the
//! trash. Candidates are read best first and checked, so what the caller may not see
//! never takes a place among the results, and is never shown. Matches are ranked a
//! thousand at a time, newest first: a query that matches fewer is ranked whole; one that
//! matches more ranks its newest thousand, then the thousand before, up to four thousand.

use std::collections::HashSet;

use crate::access::permissions::Permission;
use crate::access::{Principal, UserKind};
use crate::error::{Error, Result};
use crate::store::{TenantStore, Tx, on_tx};
use crate::work::projects;

/// What a found item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FoundKind {
    /// A project (its name or description).
    Project,
    /// A task (its title or description).
    Task,
    /// A discussion (its subject or opening post).
    Discussion,
    /// A comment of a task or discussion, or a client message.
    Comment,
    /// A team chat message.
    Chat,
    /// A file (its name).
    File,
}

impl FoundKind {
    /// The stored and API word.
    pub fn as_str(self) -> &'static str {
        match self {
            FoundKind::Project => "project",
            FoundKind::Task => "task",
            FoundKind::Discussion => "discussion",
            FoundKind::Comment => "comment",
            FoundKind::Chat => "chat",
            FoundKind::File => "file",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "project" => FoundKind::Project,
            "task" => FoundKind::Task,
            "discussion" => FoundKind::Discussion,
            "comment" => FoundKind::Comment,
            "chat" => FoundKind::Chat,
            "file" => FoundKind::File,
            other => return Err(Error::Invalid(format!("unknown search kind '{other}'"))),
        })
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What it is.
    pub kind: FoundKind,
    /// Its id.
    pub id: String,
    /// The project it is in (none for chat).
    pub project_id: Option<String>,
    /// Its title: the name, title or subject; for a comment its task's or discussion's
    /// (or "Messages"); for chat the channel's name.
    pub title: String,
    /// Where it matched, as text in which the matched words are between `\u{2}` and
    /// `\u{3}` (pages and the API escape the text and mark those).
    pub snippet: String,
    /// Its page on the brand's site.
    pub link: String,
}

/// The marks around matched words in [`Found::snippet`].
pub const MARK_START: char = '\u{2}';
/// See [`MARK_START`].
pub const MARK_END: char = '\u{3}';

/// The words of a query: letters and digits, lowercased, at most 8.
fn words(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(8)
        .collect()
}

/// Candidates checked for the caller's sight at a time.
const BATCH: usize = 100;
/// Matches ranked at a time, newest first (see [`window`]).
const WINDOW: i64 = 500;
/// Windows looked at before a search stops looking for more the caller may see (the
/// newest 4,000 matches).
const WINDOWS: usize = 8;

/// The items matching `q` that `viewer` may see, best first, at most `limit` (1 to 50).
/// A query without letters or digits finds nothing; one longer than 200 characters is a
/// field error.
#[tracing::instrument(skip_all)]
pub async fn search(
    store: &TenantStore,
    viewer: &Principal,
    q: &str,
    limit: u32,
) -> Result<Vec<Found>> {
    if q.chars().count() > 200 {
        return Err(Error::field("q", "search for at most 200 characters"));
    }
    let words = words(q);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let limit = usize::try_from(limit.clamp(1, 50)).unwrap_or(50);
    let mut tx = store.read().await?;
    let sqlite = tx.is_sqlite();
    let mut found: Vec<(Found, i64)> = Vec::new();
    let mut below = i64::MAX;
    for _ in 0..WINDOWS {
        let ranked = window(&mut tx, sqlite, &words, below).await?;
        let Some(floor) = ranked.iter().map(|c| c.key).min() else {
            break;
        };
        let full = ranked.len() as i64 == WINDOW;
        for batch in ranked.chunks(BATCH) {
            let seen = visible(&mut tx, viewer, batch).await?;
            for candidate in batch {
                if found.len() == limit {
                    break;
                }
                if let Some(item) = seen
                    .iter()
                    .find(|f| f.kind == candidate.kind && f.id == candidate.id)
                {
                    found.push((item.clone(), candidate.key));
                }
            }
            if found.len() == limit {
                break;
            }
        }
        if found.len() == limit || !full {
            break;
        }
        below = floor;
    }
    let keys: Vec<i64> = found.iter().map(|(_, key)| *key).collect();
    let snippets = snippets(&mut tx, sqlite, &words, &keys).await?;
    Ok(found
        .into_iter()
        .map(|(mut item, key)| {
            if let Some((_, snippet)) = snippets.iter().find(|(k, _)| *k == key) {
                item.snippet = snippet.clone();
            }
            item
        })
        .collect())
}

#[derive(Debug)]
struct Candidate {
    kind: FoundKind,
    id: String,
    /// Its place in the index (newer items have higher ones).
    key: i64,
}

/// The SQLite FTS5 query of `words`: every word, whole or as a beginning.
fn fts_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{}\"*", w.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The PostgreSQL `tsquery` of `words`: every word, whole or as a beginning.
fn ts_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("{w}:*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The newest [`WINDOW`] matching items older than `below` (an index key), best first.
/// Ranking every match of a word found in 100,000 messages would cost over a hundred
/// milliseconds; ranking the newest five hundred costs a few, and gives the same order
/// whenever a query matches fewer.
async fn window(tx: &mut Tx, sqlite: bool, words: &[String], below: i64) -> Result<Vec<Candidate>> {
    let rows: Vec<(String, String, i64)> = if sqlite {
        // One pass through the word's list, newest first, ranking only what it returns;
        // the window is sorted by rank here.
        let query = fts_query(words);
        let mut rows: Vec<(String, String, i64, f64)> = on_tx!(tx, |conn| {
            sqlx::query_as(
                "select s.kind, s.item_id, t.rowid, bm25(search_text, 4.0, 1.0)
                 from search_text t join search_items s on s.search_item = t.rowid
                 where search_text match $1 and t.rowid < $2
                 order by t.rowid desc limit $3",
            )
            .bind(&query)
            .bind(below)
            .bind(WINDOW)
            .fetch_all(conn)
            .await?
        });
        rows.sort_by(|a, b| a.3.total_cmp(&b.3).then(b.2.cmp(&a.2)));
        rows.into_iter()
            .map(|(kind, id, key, _)| (kind, id, key))
            .collect()
    } else {
        let query = ts_query(words);
        // Few matches: read them all through the word index and rank them. Many: walk
        // back from the newest item until a window is full (reading every match of a
        // common word to sort it would cost more than ranking). `seq + 0` keeps the
        // planner's generic plan on the word index where that is the way.
        let many: i64 = on_tx!(tx, |conn| {
            sqlx::query_scalar(
                "select count(*) from (select 1 from search_items
                                       where document @@ to_tsquery('simple', $1) and seq + 0 < $2
                                       limit $3) hits",
            )
            .bind(&query)
            .bind(below)
            .bind(WINDOW + 1)
            .fetch_one(conn)
            .await?
        });
        let sql = if many > WINDOW {
            "select kind, item_id, seq from (
                 select kind, item_id, seq, document, q from search_items, to_tsquery('simple', $1) q
                 where document @@ q and seq < $2 order by seq desc limit $3) newest
             order by ts_rank(document, q) desc, seq desc"
        } else {
            "select kind, item_id, seq from search_items, to_tsquery('simple', $1) q
             where document @@ to_tsquery('simple', $1) and seq + 0 < $2 and $3 > 0
             order by ts_rank(document, q) desc, seq desc"
        };
        on_tx!(tx, |conn| {
            sqlx::query_as(sql)
                .bind(&query)
                .bind(below)
                .bind(WINDOW)
                .fetch_all(conn)
                .await?
        })
    };
    rows.into_iter()
        .map(|(kind, id, key)| {
            Ok(Candidate {
                kind: FoundKind::parse(&kind)?,
                id,
                key,
            })
        })
        .collect()
}

/// Where each of the found items (by index key) matched, the words marked: the texts are
/// read back by key and cut here (the databases' own snippet functions read every match
/// of a common word again for each result).
async fn snippets(
    tx: &mut Tx,
    sqlite: bool,
    words: &[String],
    keys: &[i64],
) -> Result<Vec<(i64, String)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let list = list_from(1, keys.len());
    let sql = if sqlite {
        format!("select rowid, title, body from search_text where rowid in ({list})")
    } else {
        format!("select seq, title, body from search_items where seq in ({list})")
    };
    let rows: Vec<(i64, String, String)> = on_tx!(tx, |conn| {
        let mut select = sqlx::query_as(&sql);
        for key in keys {
            select = select.bind(*key);
        }
        select.fetch_all(conn).await?
    });
    Ok(rows
        .into_iter()
        .map(|(key, title, body)| (key, snippet(&title, &body, words)))
        .collect())
}

/// Words shown before the first match and in all.
const BEFORE: usize = 6;
const SHOWN: usize = 24;

/// The part of `body` (or of `title`, when the body has no match) around the first word
/// that begins with one of `words`, at most [`SHOWN`] words, every such word marked.
fn snippet(title: &str, body: &str, words: &[String]) -> String {
    let matches = |word: &str| {
        let lower = word
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        !lower.is_empty() && words.iter().any(|w| lower.starts_with(w.as_str()))
    };
    let pick = |text: &str| -> Option<String> {
        let all: Vec<&str> = text.split_whitespace().collect();
        let first = all
            .iter()
            .position(|w| w.split(|c: char| !c.is_alphanumeric()).any(matches))?;
        let start = first.saturating_sub(BEFORE);
        let end = (start + SHOWN).min(all.len());
        let mut out = String::new();
        if start > 0 {
            out.push('\u{2026}');
        }
        for (n, word) in all[start..end].iter().enumerate() {
            if n > 0 || start > 0 {
                out.push(' ');
            }
            out.push_str(&mark(word, &matches));
        }
        if end < all.len() {
            out.push_str(" \u{2026}");
        }
        Some(out)
    };
    pick(body).or_else(|| pick(title)).unwrap_or_else(|| {
        body.split_whitespace()
            .take(SHOWN)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// `word` with each of its letter-and-digit runs that matches marked.
fn mark(word: &str, matches: &impl Fn(&str) -> bool) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if !run.is_empty() {
            if matches(run) {
                out.push(MARK_START);
                out.push_str(run);
                out.push(MARK_END);
            } else {
                out.push_str(run);
            }
            run.clear();
        }
    };
    for c in word.chars() {
        if c.is_alphanumeric() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `$n, $n+1, …` for `count` values.
fn list_from(n: usize, count: usize) -> String {
    (n..n + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The candidates `viewer` may see, with their titles, projects and links.
async fn visible(tx: &mut Tx, viewer: &Principal, batch: &[Candidate]) -> Result<Vec<Found>> {
    let client = viewer.kind() == UserKind::Client;
    let permissions = viewer.permissions();
    let discusses = permissions.contains(Permission::DiscussionsParticipate);
    let messages = permissions.contains(Permission::MessagesClients);
    let chats = !client && permissions.contains(Permission::ChatTeam);
    // A role without any file permission (a bookkeeper's) sees no file, not even its name.
    let sees_files = [
        Permission::FilesDownload,
        Permission::FilesUpload,
        Permission::FilesDelete,
    ]
    .into_iter()
    .any(|p| permissions.contains(p));
    let (mode, who) = projects::reach_binds(viewer);
    let mut found = Vec::new();
    let kinds: HashSet<FoundKind> = batch.iter().map(|c| c.kind).collect();
    for kind in kinds {
        let ids: Vec<&str> = batch
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.id.as_str())
            .collect();
        // $1 reach mode, $2 whom it concerns, $3 client (0/1), then the ids.
        let reach = projects::reach_clause(1, 2);
        let list = list_from(4, ids.len());
        let sql = match kind {
            FoundKind::Project => format!(
                "select projects.project_id, projects.project_id, projects.name, '/projects/' || projects.project_id
                 from projects where projects.project_id in ({list}) and {reach} and $3 in (0, 1)"
            ),
            FoundKind::Task => format!(
                "select t.task_id, t.project_id, t.title, '/projects/' || t.project_id || '/tasks/' || t.task_id
                 from tasks t join projects on projects.project_id = t.project_id
                 where t.task_id in ({list}) and {reach} and ($3 = 0 or t.visibility = 'client')"
            ),
            FoundKind::Discussion if discusses => format!(
                "select d.discussion_id, d.project_id, d.subject, '/projects/' || d.project_id || '/discussions/' || d.discussion_id
                 from discussions d join projects on projects.project_id = d.project_id
                 where d.discussion_id in ({list}) and {reach} and ($3 = 0 or d.visibility = 'client')"
            ),
            FoundKind::Comment if discusses || messages => format!(
                "select c.comment_id, c.project_id,
                        case c.thread when 'task' then t.title when 'discussion' then d.subject else 'Messages' end,
                        case c.thread
                          when 'task' then '/projects/' || c.project_id || '/tasks/' || c.task_id
                          when 'discussion' then '/projects/' || c.project_id || '/discussions/' || c.discussion_id
                          else '/projects/' || c.project_id || '/messages' end || '#comment-' || c.comment_id
                 from comments c join projects on projects.project_id = c.project_id
                 left join tasks t on t.task_id = c.task_id
                 left join discussions d on d.discussion_id = c.discussion_id
                 where c.comment_id in ({list}) and {reach} and c.removed_at is null
                   and ((c.thread = 'task' and {discuss} and ($3 = 0 or t.visibility = 'client'))
                     or (c.thread = 'discussion' and {discuss} and ($3 = 0 or d.visibility = 'client'))
                     or (c.thread = 'messages' and {message} and projects.company_id is not null))",
                discuss = if discusses { "1 = 1" } else { "1 = 0" },
                message = if messages { "1 = 1" } else { "1 = 0" },
            ),
            FoundKind::Chat if chats => format!(
                "select m.message_id, null, case when c.kind = 'direct' then 'Direct message' else '#' || c.name end,
                        '/chat/' || c.channel_id || '#message-' || m.message_id
                 from chat_messages m join chat_channels c on c.channel_id = m.channel_id
                 where m.message_id in ({list}) and m.removed_at is null and $1 <> '' and $3 = 0
                   and (c.kind = 'open'
                     or (c.kind = 'team' and exists(select 1 from team_members tm where tm.team_id = c.team_id and tm.user_id = $4000))
                     or (c.kind = 'direct' and exists(select 1 from chat_direct_members dm where dm.channel_id = c.channel_id and dm.user_id = $4000)))"
            )
            .replace("$4000", &format!("${}", 4 + ids.len())),
            FoundKind::File if sees_files => format!(
                "select f.file_id, f.project_id, v.name, '/projects/' || f.project_id || '/files/' || f.file_id
                 from files f join projects on projects.project_id = f.project_id
                 join file_versions v on v.file_id = f.file_id and v.version = f.current_version
                 where f.file_id in ({list}) and {reach} and f.deleted_at is null and ($3 = 0 or f.visibility = 'client')"
            ),
            // The viewer's role does not let them into these conversations or files.
            FoundKind::Discussion | FoundKind::Comment | FoundKind::Chat | FoundKind::File => {
                continue;
            }
        };
        let rows: Vec<(String, Option<String>, String, String)> = on_tx!(tx, |conn| {
            let mut query = sqlx::query_as(&sql)
                .bind(mode)
                .bind(who)
                .bind(i64::from(client));
            for id in &ids {
                query = query.bind(*id);
            }
            if kind == FoundKind::Chat {
                query = query.bind(viewer.user_id());
            }
            query.fetch_all(conn).await?
        });
        found.extend(rows.into_iter().map(|(id, project_id, title, link)| Found {
            kind,
            id,
            project_id,
            title,
            snippet: String::new(),
            link,
        }));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_mark_the_words_that_matched() {
        let words = vec!["cop".to_owned(), "noon".to_owned()];
        assert_eq!(
            snippet(
                "Task",
                "Please check the copy, @Pat before **noon**",
                &words
            ),
            "Please check the \u{2}copy\u{3}, @Pat before **\u{2}noon\u{3}**"
        );
        let long = (0..60)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ")
            + " copy";
        let cut = snippet("", &long, &words);
        assert!(
            cut.starts_with('\u{2026}') && cut.ends_with("\u{2}copy\u{3}"),
            "{cut}"
        );
        assert_eq!(
            snippet("logo-copy.png", "", &words),
            "logo-\u{2}copy\u{3}.png"
        );
    }

    #[test]
    fn queries_are_read_as_words() {
        assert_eq!(words("Logo, v2-final!"), ["logo", "v2", "final"]);
        assert!(words("  **  ").is_empty());
        assert_eq!(words("a b c d e f g h i j").len(), 8);
        assert_eq!(words("Ünïcode ÄRGER"), ["ünïcode", "ärger"]);
    }
}
