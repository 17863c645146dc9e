//! The board page's forms when they refuse input (the text comes back in its form, nothing is
//! written), and page routes given a path value that does not parse (the HTML error page).

use crate::support::*;
use serde_json::json;

/// Posts a form, expecting a 400 board page; returns the page.
async fn refused(user: &User, path: &str, fields: &[(&str, &str)]) -> String {
    let res = user.form(path, fields).await;
    let status = res.status().as_u16();
    let page = res.text().await.unwrap();
    assert_eq!(status, 400, "{path}: {page}");
    assert!(page.contains("id=\"board\""), "{path}: the board page again, not a bare error page");
    page
}

#[tokio::test]
async fn a_refused_board_column_or_member_form_shows_the_board_again_with_the_typed_text_in_its_field() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, cols) = alice.board("Plans").await;
    let seq = app.seq();
    let long = "y".repeat(101);

    let page = refused(&alice, &format!("/boards/{board}"), &[("name", &long)]).await;
    assert!(page.contains("too long"), "a clear error: {page}");
    assert!(page.contains(&format!("value=\"{long}\" required maxlength=\"100\" aria-label=\"Board name\"")), "{page}");
    assert!(page.contains("<details open><summary>Rename"), "the rename form is open: {page}");

    let page = refused(&alice, &format!("/columns/{}", cols[0]), &[("name", &long)]).await;
    assert!(page.contains("too long"), "a clear error: {page}");
    assert!(
        page.contains(&format!("value=\"{long}\" required maxlength=\"100\" aria-label=\"Column name\"")),
        "{page}"
    );
    assert_eq!(page.matches(&long).count(), 1, "only in the column it was typed for");
    assert_eq!(page.matches("<details class=\"column-tools\" open>").count(), 1, "its tools are open: {page}");

    let page = refused(&alice, &format!("/boards/{board}/columns"), &[("name", &long)]).await;
    assert!(page.contains(&format!("value=\"{long}\" aria-label=\"New column name\"")), "{page}");

    let page = refused(&alice, &format!("/boards/{board}/members"), &[("username", "nobody-here")]).await;
    assert!(page.contains("No user called"), "a clear error: {page}");
    assert!(page.contains("value=\"nobody-here\" aria-label=\"Username to add\""), "{page}");

    assert_eq!(app.seq(), seq, "nothing was written");
    let (_, snap) = alice.get_json(&format!("/api/boards/{board}")).await;
    assert_eq!(snap["board"]["name"], "Plans");
    assert_eq!(snap["columns"].as_array().unwrap().len(), cols.len());
}

#[tokio::test]
async fn an_empty_column_name_is_refused_on_the_board_page_and_the_column_keeps_its_name() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, cols) = alice.board("Plans").await;
    let (_, before) = alice.get_json(&format!("/api/boards/{board}")).await;

    let page = refused(&alice, &format!("/columns/{}", cols[1]), &[("name", "   ")]).await;
    assert!(page.contains("role=\"alert\""), "the error is on the page: {page}");
    let (_, after) = alice.get_json(&format!("/api/boards/{board}")).await;
    assert_eq!(after["columns"], before["columns"]);
}

#[tokio::test]
async fn a_refused_rename_of_a_column_on_a_board_i_cannot_see_is_404() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let mallory = app.signup("mallory").await;
    let (_, cols) = alice.board("Private").await;
    let res = mallory.form(&format!("/columns/{}", cols[0]), &[("name", "")]).await;
    assert_eq!(res.status(), 404);
    assert!(!res.text().await.unwrap().contains("Private"));
}

#[tokio::test]
async fn a_page_route_with_a_path_value_that_is_not_a_number_answers_the_html_error_page() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("Plans").await;
    let card = alice.card(board, json!({"title": "t"})).await["id"].as_i64().unwrap();
    let seq = app.seq();

    let gets = ["/boards/abc", "/cards/abc", "/cards/abc/edit", "/boards/abc/activity"];
    let posts = [
        "/boards/abc",
        "/boards/abc/columns",
        "/cards/abc/move",
        "/columns/abc",
        "/checklist/abc",
        "/notifications/abc/read",
        "/settings/tokens/abc/delete",
        "/boards/abc/members/bob/delete",
    ];
    let mut answers = Vec::new();
    for path in gets {
        answers.push((format!("GET {path}"), alice.get(path).await));
    }
    for path in posts {
        answers.push((format!("POST {path}"), alice.form(path, &[("name", "x")]).await));
    }
    for (case, res) in answers {
        assert_eq!(res.status(), 400, "{case}");
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/html"), "{case}: {content_type}");
        let page = res.text().await.unwrap();
        assert!(page.contains("Error 400"), "{case}: the app's error page: {page}");
        assert!(page.contains("Back to your boards"), "{case}: {page}");
    }
    let res = alice.get("/notifications?before=soon").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("Error 400"), "a bad query value too");

    // JSON routes keep answering JSON.
    let (s, err) = alice.get_json("/api/cards/abc").await;
    assert_eq!((s, err["error"]["code"].as_str()), (400, Some("BAD_REQUEST")), "{err}");
    assert_eq!(alice.get(&format!("/cards/{card}")).await.status(), 200, "a good value still works");
    assert_eq!(app.seq(), seq, "nothing was written");
}
