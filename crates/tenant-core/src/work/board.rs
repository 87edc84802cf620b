//! Places of cards on a project's board. A card's place in its column (0 at the top, as
//! the API and the pages show it) is worked out when the board is read, from an ordering
//! key stored with the card (`tasks.position`) that leaves room between cards: moving a
//! card writes that one card, with a key halfway between its new neighbours', whatever
//! the column's length. Only when two neighbours' keys have no room left between them is
//! the column's keys spaced out again, in one statement. Keys of boards made before (0, 1,
//! 2, …) are valid too: the first move between two of them spaces that column out.

use time::OffsetDateTime;

use crate::error::Result;
use crate::store::{Tx, on_tx};

/// The room left between the keys of neighbouring cards: a card can be put between the
/// same two neighbours about ten times before their column is spaced out again.
const GAP: i64 = 1024;

/// The key of a card put at the bottom of `column` (leaving out the card `leaving`).
pub(crate) async fn bottom(
    tx: &mut Tx,
    project_id: &str,
    column: &str,
    leaving: &str,
) -> Result<i64> {
    let last: Option<i64> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select max(position) from tasks where project_id = $1 and status = $2 and task_id <> $3",
        )
        .bind(project_id)
        .bind(column)
        .bind(leaving)
        .fetch_one(conn)
        .await?
    });
    Ok(after_last(last))
}

/// The key after the last card's (`last`), or the first key of an empty column.
fn after_last(last: Option<i64>) -> i64 {
    last.map_or(0, |key| key.saturating_add(GAP))
}

/// Where a card put at place `place` of a column goes: the key it takes, or `None` when
/// its neighbours' keys leave no room between them.
enum Spot {
    Key(i64),
    NoRoom,
}

/// Moves card `task_id` to column `to.0` at place `to.1` among the cards of that column
/// the mover sees (`limited`: `client` for a client contact, `''` for staff; the bottom
/// when `None` or past it), just above the card that is there now. Answers the place it
/// took.
pub(crate) async fn place(
    tx: &mut Tx,
    project_id: &str,
    task_id: &str,
    to: (&str, Option<i64>),
    limited: &str,
    at: OffsetDateTime,
) -> Result<i64> {
    let (column, wanted) = to;
    let (key, place) = match spot(tx, project_id, task_id, column, wanted, limited).await? {
        (Spot::Key(key), place) => (key, place),
        (Spot::NoRoom, _) => {
            space_out(tx, project_id, column).await?;
            match spot(tx, project_id, task_id, column, wanted, limited).await? {
                (Spot::Key(key), place) => (key, place),
                (Spot::NoRoom, _) => {
                    return Err(crate::Error::Conflict(
                        "the column could not make room for the card; try again".to_owned(),
                    ));
                }
            }
        }
    };
    on_tx!(tx, |conn| {
        sqlx::query(
            "update tasks set status = $2, position = $3, updated_at = $4 where task_id = $1",
        )
        .bind(task_id)
        .bind(column)
        .bind(key)
        .bind(at)
        .execute(conn)
        .await?;
    });
    Ok(place)
}

/// The key for card `task_id` at place `wanted` of `column`, and the place it takes.
async fn spot(
    tx: &mut Tx,
    project_id: &str,
    task_id: &str,
    column: &str,
    wanted: Option<i64>,
    limited: &str,
) -> Result<(Spot, i64)> {
    // The card now at that place among the others the mover sees, and the key of the card
    // just above it in the whole column (seen by the mover or not).
    let below: Option<(i64, Option<i64>)> = match wanted {
        None => None,
        Some(place) => on_tx!(tx, |conn| {
            // The card is found first, so the card above is looked for once (not once for
            // every card the offset passes).
            sqlx::query_as(
                "with below as (
                     select position, task_id from tasks
                     where project_id = $1 and status = $2 and task_id <> $3
                       and ($4 = '' or visibility = $4)
                     order by position, task_id limit 1 offset $5)
                 select below.position,
                        (select max(above.position) from tasks above
                         where above.project_id = $1 and above.status = $2 and above.task_id <> $3
                           and (above.position < below.position
                                or (above.position = below.position and above.task_id < below.task_id)))
                 from below",
            )
            .bind(project_id)
            .bind(column)
            .bind(task_id)
            .bind(limited)
            .bind(place.max(0))
            .fetch_optional(conn)
            .await?
        }),
    };
    let Some((below_key, above)) = below else {
        // The bottom: after every card, at the place after the last the mover sees.
        let (seen, last): (i64, Option<i64>) = on_tx!(tx, |conn| {
            sqlx::query_as(
                "select count(case when $4 = '' or visibility = $4 then 1 end), max(position)
                 from tasks where project_id = $1 and status = $2 and task_id <> $3",
            )
            .bind(project_id)
            .bind(column)
            .bind(task_id)
            .bind(limited)
            .fetch_one(conn)
            .await?
        });
        return Ok((Spot::Key(after_last(last)), seen));
    };
    let place = wanted.unwrap_or_default().max(0);
    let spot = match above {
        None => Spot::Key(below_key.saturating_sub(GAP)),
        Some(above) if below_key - above >= 2 => Spot::Key(above + (below_key - above) / 2),
        Some(_) => Spot::NoRoom,
    };
    Ok((spot, place))
}

/// Spaces out the keys of a column's cards (in their order) `GAP` apart.
async fn space_out(tx: &mut Tx, project_id: &str, column: &str) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "update tasks set position = ordered.place * $3
             from (select task_id, row_number() over (order by position, task_id) as place
                   from tasks where project_id = $1 and status = $2) as ordered
             where tasks.task_id = ordered.task_id",
        )
        .bind(project_id)
        .bind(column)
        .bind(GAP)
        .execute(conn)
        .await?;
    });
    Ok(())
}
