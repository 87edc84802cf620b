//! A project's activity: who did what in it and when, newest first, read from the brand's
//! events ([`crate::events`]) and filtered as the events stream is: client contacts see the
//! activity of client-visible items only (and of the project itself).

use crate::access::Principal;
use crate::error::{Error, Result};
use crate::events::{self, Event};
use crate::paging::Page;
use crate::store::TenantStore;
use crate::work::{self, Read};

/// A page of `project_id`'s activity that `actor` may see, newest first, before the event
/// `cursor` (the `next_cursor` of the page before).
#[tracing::instrument(skip_all)]
pub async fn project_activity(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Event>> {
    let mut tx = store.read().await?;
    let grant = work::enter::<Read>(&mut tx, actor, project_id).await?;
    let before = cursor
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| Error::field("cursor", "this is not a cursor of this list"))
        })
        .transpose()?;
    let limit = i64::from(limit.clamp(1, 200));
    let mut items = events::of_project(
        &mut tx,
        grant.principal(),
        grant.project_id(),
        before,
        limit + 1,
    )
    .await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        items.last().map(|e| e.id.to_string())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}
