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
//! trash. Candidates are read best first in batches and checked, so what the caller may
//! not see never takes a place among the results, and is never shown.

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

const BATCH: i64 = 100;
/// How PostgreSQL cuts a snippet: one fragment of 8 to 24 words, matches marked.
const HEADLINE: &str =
    "StartSel=\u{2}, StopSel=\u{3}, MaxWords=24, MinWords=8, ShortWord=2, MaxFragments=1";
/// Candidates read at most before the search stops looking for more it may show.
const MOST_CANDIDATES: i64 = 2_000;

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
    let mut found = Vec::new();
    let mut offset = 0;
    while found.len() < limit && offset < MOST_CANDIDATES {
        let batch = candidates(&mut tx, sqlite, &words, offset).await?;
        let last = (batch.len() as i64) < BATCH;
        offset += BATCH;
        let seen = visible(&mut tx, viewer, &batch).await?;
        for candidate in batch {
            if found.len() == limit {
                break;
            }
            if let Some(found_item) = seen
                .iter()
                .find(|f| f.kind == candidate.kind && f.id == candidate.id)
            {
                let mut item = found_item.clone();
                item.snippet = candidate.snippet;
                found.push(item);
            }
        }
        if last {
            break;
        }
    }
    Ok(found)
}

#[derive(Debug)]
struct Candidate {
    kind: FoundKind,
    id: String,
    snippet: String,
}

/// A batch of matching items, best first.
async fn candidates(
    tx: &mut Tx,
    sqlite: bool,
    words: &[String],
    offset: i64,
) -> Result<Vec<Candidate>> {
    let rows: Vec<(String, String, String)> = if sqlite {
        // Every word, whole or as a beginning; the title weighs more than the body.
        let query = words
            .iter()
            .map(|w| format!("\"{}\"*", w.replace('"', "")))
            .collect::<Vec<_>>()
            .join(" ");
        on_tx!(tx, |conn| {
            sqlx::query_as(
                "select s.kind, s.item_id,
                        case when t.body = '' then snippet(search_text, 0, char(2), char(3), '…', 16)
                             else snippet(search_text, -1, char(2), char(3), '…', 16) end
                 from search_text t join search_items s on s.search_item = t.rowid
                 where search_text match $1
                 order by bm25(search_text, 4.0, 1.0), s.item_id desc
                 limit $2 offset $3",
            )
            .bind(&query)
            .bind(BATCH)
            .bind(offset)
            .fetch_all(conn)
            .await?
        })
    } else {
        let query = words
            .iter()
            .map(|w| {
                format!(
                    "{}:*",
                    w.replace(
                        ['\'', '\\', ':', '&', '|', '!', '(', ')', '<', '>', '*'],
                        ""
                    )
                )
            })
            .filter(|w| w != ":*")
            .collect::<Vec<_>>()
            .join(" & ");
        if query.is_empty() {
            return Ok(Vec::new());
        }
        on_tx!(tx, |conn| {
            sqlx::query_as(
                "select kind, item_id,
                        case when strpos(marked, chr(2)) > 0 then marked
                             else ts_headline('simple', regexp_replace(text, '[^[:alnum:]]+', ' ', 'g'), q, $4) end
                 from (select kind, item_id, rank, q, text, ts_headline('simple', text, q, $4) as marked
                       from (select kind, item_id, q, ts_rank(document, q) as rank,
                                    case when body = '' then title else title || ' — ' || body end as text
                             from search_items, to_tsquery('simple', $1) q
                             where document @@ q
                             order by rank desc, item_id desc
                             limit $2 offset $3) best) shown
                 order by rank desc, item_id desc",
            )
            .bind(&query)
            .bind(BATCH)
            .bind(offset)
            .bind(HEADLINE)
            .fetch_all(conn)
            .await?
        })
    };
    rows.into_iter()
        .map(|(kind, id, snippet)| {
            Ok(Candidate {
                kind: FoundKind::parse(&kind)?,
                id,
                snippet,
            })
        })
        .collect()
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
            FoundKind::File => format!(
                "select f.file_id, f.project_id, v.name, '/projects/' || f.project_id || '/files/' || f.file_id
                 from files f join projects on projects.project_id = f.project_id
                 join file_versions v on v.file_id = f.file_id and v.version = f.current_version
                 where f.file_id in ({list}) and {reach} and f.deleted_at is null and ($3 = 0 or f.visibility = 'client')"
            ),
            // The viewer's role does not let them into these conversations.
            FoundKind::Discussion | FoundKind::Comment | FoundKind::Chat => continue,
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
    fn queries_are_read_as_words() {
        assert_eq!(words("Logo, v2-final!"), ["logo", "v2", "final"]);
        assert!(words("  **  ").is_empty());
        assert_eq!(words("a b c d e f g h i j").len(), 8);
        assert_eq!(words("Ünïcode ÄRGER"), ["ünïcode", "ärger"]);
    }
}
