//! Places of cards on a project's board: each column's cards are numbered from 0 at the
//! top, with no gaps. A card that leaves a place closes it, one that takes a place opens it.

use time::OffsetDateTime;

use crate::error::Result;
use crate::store::{Tx, on_tx};

/// How many tasks a column holds, leaving out the task `leaving`.
pub(crate) async fn column_size(
    tx: &mut Tx,
    project_id: &str,
    column: &str,
    leaving: &str,
) -> Result<i64> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select count(*) from tasks where project_id = $1 and status = $2 and task_id <> $3",
        )
        .bind(project_id)
        .bind(column)
        .bind(leaving)
        .fetch_one(conn)
        .await?
    }))
}

/// Moves the tasks of a column from place `from` on by `by` places (not `moving`).
pub(crate) async fn shift(
    tx: &mut Tx,
    project_id: &str,
    column: &str,
    from: i64,
    by: i64,
    moving: &str,
) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "update tasks set position = position + $4
             where project_id = $1 and status = $2 and position >= $3 and task_id <> $5",
        )
        .bind(project_id)
        .bind(column)
        .bind(from)
        .bind(by)
        .bind(moving)
        .execute(conn)
        .await?;
    });
    Ok(())
}

/// Moves card `task_id` from (column, place) `from` to column `to.0` at place `to.1` (the
/// bottom when `None` or past it); answers the place it took.
pub(crate) async fn place(
    tx: &mut Tx,
    project_id: &str,
    task_id: &str,
    from: (&str, i64),
    to: (&str, Option<i64>),
    at: OffsetDateTime,
) -> Result<i64> {
    let (column, place) = to;
    let others = column_size(tx, project_id, column, task_id).await?;
    let place = place.map_or(others, |p| p.min(others));
    shift(tx, project_id, from.0, from.1 + 1, -1, task_id).await?;
    shift(tx, project_id, column, place, 1, task_id).await?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "update tasks set status = $2, position = $3, updated_at = $4 where task_id = $1",
        )
        .bind(task_id)
        .bind(column)
        .bind(place)
        .bind(at)
        .execute(conn)
        .await?;
    });
    Ok(place)
}
