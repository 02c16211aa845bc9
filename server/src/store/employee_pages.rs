//! The administration's employee list, a page at a time by keyset: a page starts after (or
//! ends before) the last row the client saw, in the order of the folded logon name and then
//! the row id, so a deep page costs what the first does and rows added or removed between
//! two pages never shift one into a duplicate or a gap.

use super::employees::SELECT_EMPLOYEES;
use super::{EmployeeRow, EmployeeState, Store};
use crate::identity::LoginKey;

/// A row's place in the list. Clients get it as an opaque string (`Display`/`parse`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmployeeCursor {
    login_key: String,
    id: i64,
}

impl EmployeeCursor {
    pub fn of(row: &EmployeeRow) -> EmployeeCursor {
        EmployeeCursor { login_key: row.login_key.clone(), id: row.id }
    }

    /// Reads what `to_string` wrote; `None` for anything else.
    pub fn parse(text: &str) -> Option<EmployeeCursor> {
        let (id, login_key) = text.split_once('.')?;
        let id = id.parse().ok().filter(|id: &i64| *id > 0)?;
        Some(EmployeeCursor { login_key: login_key.to_string(), id })
    }
}

impl std::fmt::Display for EmployeeCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.id, self.login_key)
    }
}

/// Where a page starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PageAt {
    #[default]
    First,
    After(EmployeeCursor),
    Before(EmployeeCursor),
}

/// One page, the number of all matching rows, and whether rows lie beyond each end.
#[derive(Debug)]
pub struct EmployeePage {
    pub rows: Vec<EmployeeRow>,
    pub total: i64,
    pub more_before: bool,
    pub more_after: bool,
}

impl Store {
    /// A page of up to `limit` employees whose logon or display name contains `query` and who
    /// are in `state`, in list order; and the total number matching.
    pub async fn employees(
        &self,
        query: &str,
        state: EmployeeState,
        at: &PageAt,
        limit: i64,
    ) -> Result<EmployeePage, sqlx::Error> {
        // LIKE with `!` as the escape character: the user's text matches literally.
        // Logon names match through their normalised key (any script, any case); display
        // names as typed and through SQL's lower() (which folds ASCII letters only).
        let like = |text: &str| format!("%{}%", text.replace('!', "!!").replace('%', "!%").replace('_', "!_"));
        let (by_key, as_typed) = (like(LoginKey::of(query).as_str()), like(query.trim()));
        let matching = format!(
            "FROM employees e WHERE (e.login_key LIKE $1 ESCAPE '!' OR e.display_name LIKE $2 ESCAPE '!'
             OR lower(e.display_name) LIKE lower($3) ESCAPE '!') AND {}",
            state.condition()
        );
        // Fixed text only; the cursor's values are bound. One row more than asked tells
        // whether the list goes on past this page.
        let (seek, order, cursor) = match at {
            PageAt::First => ("", "ASC", None),
            PageAt::After(c) => (" AND (e.login_key, e.id) > ($5, $6)", "ASC", Some(c)),
            PageAt::Before(c) => (" AND (e.login_key, e.id) < ($5, $6)", "DESC", Some(c)),
        };
        let sql = format!("{SELECT_EMPLOYEES} {matching}{seek} ORDER BY e.login_key {order}, e.id {order} LIMIT $4");
        let mut page = sqlx::query_as(&sql).bind(&by_key).bind(&as_typed).bind(&as_typed).bind(limit + 1);
        if let Some(c) = cursor {
            page = page.bind(&c.login_key).bind(c.id);
        }
        let mut rows: Vec<EmployeeRow> = page.fetch_all(&self.pool).await?;
        let beyond = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let total = sqlx::query_scalar(&format!("SELECT COUNT(*) {matching}"))
            .bind(&by_key)
            .bind(&as_typed)
            .bind(&as_typed)
            .fetch_one(&self.pool)
            .await?;
        Ok(match at {
            PageAt::First => EmployeePage { rows, total, more_before: false, more_after: beyond },
            PageAt::After(_) => EmployeePage { rows, total, more_before: true, more_after: beyond },
            PageAt::Before(_) => {
                rows.reverse();
                EmployeePage { rows, total, more_before: beyond, more_after: true }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{EmployeeCursor, PageAt};
    use crate::store::testing::stores;
    use crate::store::{EmployeeState, SyncedUser};

    #[test]
    fn a_cursor_reads_back_what_it_wrote_and_nothing_else() {
        let c = EmployeeCursor { login_key: "ćleo.o'brien".into(), id: 42 };
        assert_eq!(EmployeeCursor::parse(&c.to_string()), Some(c));
        for bad in ["", "42", "x.ann", "-1.ann", "0.ann", ".ann"] {
            assert_eq!(EmployeeCursor::parse(bad), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn pages_walk_the_whole_list_both_ways_without_gaps_or_repeats() {
        for t in stores().await {
            let names = ["Zoë", "ann", "ÁRPÁD", "Ben", "bert", "Ćleo", "dave", "Émile", "NÍKOS", "ωmega", "Åsa"];
            let guids: Vec<String> = (0..names.len()).map(|i| format!("g{i}")).collect();
            let users: Vec<SyncedUser> = names
                .iter()
                .zip(&guids)
                .map(|(name, guid)| SyncedUser {
                    object_guid: guid,
                    username: name,
                    display_name: name,
                    disabled: false,
                    password_expires_at: None,
                })
                .collect();
            t.store.sync_employees(&users, 1).await.unwrap();
            let all = t.store.employees("", EmployeeState::All, &PageAt::First, 100).await.unwrap();
            assert_eq!((all.rows.len(), all.total, all.more_after), (names.len(), names.len() as i64, false));

            // Forward in pages of 3, then back from the end: the same rows, in the same order.
            let (mut forward, mut at) = (Vec::new(), PageAt::First);
            loop {
                let page = t.store.employees("", EmployeeState::All, &at, 3).await.unwrap();
                assert_eq!(page.total, names.len() as i64, "{}", t.engine);
                forward.extend(page.rows.iter().map(|r| r.username.clone()));
                let Some(last) = page.rows.last().filter(|_| page.more_after) else { break };
                at = PageAt::After(EmployeeCursor::of(last));
            }
            let in_order: Vec<String> = all.rows.iter().map(|r| r.username.clone()).collect();
            assert_eq!(forward, in_order, "{}", t.engine);
            let mut backward = Vec::new();
            let mut at = PageAt::Before(EmployeeCursor::of(all.rows.last().unwrap()));
            backward.push(all.rows.last().unwrap().username.clone());
            loop {
                let page = t.store.employees("", EmployeeState::All, &at, 3).await.unwrap();
                assert!(page.more_after, "{}", t.engine);
                backward.splice(0..0, page.rows.iter().map(|r| r.username.clone()));
                let Some(first) = page.rows.first().filter(|_| page.more_before) else { break };
                at = PageAt::Before(EmployeeCursor::of(first));
            }
            assert_eq!(backward, in_order, "{}", t.engine);

            // A newcomer sorted before the page the client is on shifts nothing onto it twice.
            let second_page_after = EmployeeCursor::of(&all.rows[2]);
            let newcomer = SyncedUser {
                object_guid: "g-new",
                username: "aaron",
                display_name: "Aaron",
                disabled: false,
                password_expires_at: None,
            };
            let mut grown: Vec<SyncedUser> = users;
            grown.push(newcomer);
            t.store.sync_employees(&grown, 2).await.unwrap();
            let next = t.store.employees("", EmployeeState::All, &PageAt::After(second_page_after), 3).await.unwrap();
            let next: Vec<&str> = next.rows.iter().map(|r| r.username.as_str()).collect();
            assert_eq!(next, in_order[3..6].iter().map(String::as_str).collect::<Vec<_>>(), "{}", t.engine);
        }
    }
}
