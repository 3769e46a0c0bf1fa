//! Route names match in any case, as Express routes do (`/getchat`,
//! `/GETCHAT`, `/chatquery/...`): a request path that matches a route's name
//! in another case is rewritten to the declared one before routing.

use axum::extract::Request;

/// The routes' names, lowercased and as declared. A key ending in `/` is a
/// prefix (the room name after it keeps its case).
const ROUTES: [(&str, &str); 8] = [
    ("/api/v1/chat/createchat", "/api/v1/chat/createChat"),
    ("/api/v1/chat/getchat", "/api/v1/chat/getChat"),
    ("/api/v1/chat/chatquery/", "/api/v1/chat/ChatQuery/"),
    ("/api/v1/chat/connectchat/", "/api/v1/chat/connectChat/"),
    ("/api/v1/user/signup", "/api/v1/user/signup"),
    ("/api/v1/user/register", "/api/v1/user/register"),
    ("/api/v1/user/login", "/api/v1/user/login"),
    ("/ws1", "/ws1"),
];

fn canonical(path: &str) -> Option<String> {
    let lower = path.to_ascii_lowercase();
    for (key, canon) in ROUTES {
        let exact = !key.ends_with('/');
        let hit = if exact {
            lower == key || lower == format!("{key}/")
        } else {
            lower.starts_with(key)
        };
        if hit && !path.starts_with(canon) {
            // ASCII lowercasing keeps byte offsets, so the tail is unchanged.
            return Some(format!("{canon}{}", &path[key.len().min(path.len())..]));
        }
    }
    None
}

/// The request with its path rewritten to the declared route name, if it
/// matched one in another case.
pub async fn canonical_path(mut req: Request) -> Request {
    if let Some(path) = canonical(req.uri().path()) {
        let pq = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        if let Ok(uri) = pq.parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn route_names_match_in_any_case() {
        assert_eq!(
            canonical("/api/v1/chat/getchat").as_deref(),
            Some("/api/v1/chat/getChat")
        );
        assert_eq!(canonical("/api/v1/chat/getChat"), None);
        assert_eq!(
            canonical("/API/v1/chat/chatquery/Delhi/CSE").as_deref(),
            Some("/api/v1/chat/ChatQuery/Delhi/CSE")
        );
        assert_eq!(canonical("/api/v1/chat/nope"), None);
    }
}
