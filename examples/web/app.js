// chatwire demo chat: the expresschat profile from a browser, in plain JavaScript.
//
// 1. Sign in with REST: POST /login {email, password} sets two httpOnly cookies
//    (access_token, refresh_token). The page never sees them; the browser sends
//    them with every request to this origin, the Socket.IO handshake included.
// 2. Connect with Socket.IO (`io()` = this page's origin, path /socket.io/). The
//    server greets in this order: user-id, personal-chat-list, group-chat-list. A
//    connection without valid cookies gets auth-failure and is closed instead.
// 3. Chat with events: fetch-personal-chat / send-personal-message /
//    read-personal-message for one-to-one chats, fetch-group-chat /
//    send-group-message for groups; the partner's messages arrive as
//    receive-personal-message and receive-group-message. Your own messages are not
//    echoed back: the page shows them as soon as they are sent.
//
// Every event of the profile is listed in src/profiles/expresschat/mod.rs;
// docs/expresschat.md says where chatwire differs from the original backend.

"use strict";

const $ = (id) => document.getElementById(id);

let socket = null; // the Socket.IO connection, once signed in
let me = null; // {id, name}, from user-id
const chats = new Map(); // chat id -> {id, kind: "personal"|"group", title, unread, last}
let openChat = null; // the chat shown on the right
let pendingPartner = null; // {id, name}: the person picked in the search results
// Answers to fetch-personal-chat / fetch-group-chat do not name their chat; the
// server answers a connection's requests in order, so remember what was asked.
const asked = { personal: [], group: [] };

// ------------------------------------------------------------------ connection

function connect() {
  if (socket) socket.disconnect();
  setStatus("Connecting…");
  socket = io({ forceNew: true }); // a new connection, with the cookies as they are now

  socket.on("connect", () => {
    asked.personal.length = 0; // requests of an earlier connection get no answer
    asked.group.length = 0;
  });
  socket.on("connect_error", () => setStatus("Cannot reach chatwire; retrying…"));
  socket.on("disconnect", () => {
    // `active`: socket.io-client will reconnect by itself (a dropped transport).
    if (me) setStatus(socket.active ? "Disconnected; reconnecting…" : "Disconnected; reload the page");
  });

  // Not signed in (or the session ended): the server says so, then hangs up.
  socket.on("auth-failure", () => showSignIn());

  // The access token had expired and the refresh token renewed it: store the new
  // one as a cookie, so the next connection starts with it.
  socket.on("access-token", ({ accessToken }) =>
    postJson("/update-access-token", { acessToken: accessToken }), // (sic: the original's spelling)
  );

  // The greeting.
  socket.on("user-id", ({ userId, userName }) => {
    me = { id: userId, name: userName };
    showChat();
  });
  socket.on("personal-chat-list", ({ PersonalChatList }) => {
    for (const c of PersonalChatList) {
      addChat({ id: c._id, kind: "personal", title: c.Partner, unread: c.Unread, last: c.LastChat });
    }
    renderLists();
  });
  socket.on("group-chat-list", ({ GroupChatList }) => {
    for (const g of GroupChatList) {
      addChat({ id: g._id, kind: "group", title: g.Name, unread: g.Unread, last: g.LastChat });
    }
    renderLists();
  });

  // Histories, newest first.
  socket.on("personal-chat", ({ Messages, UserId }) => {
    const chatId = asked.personal.shift();
    if (chatId !== openChat?.id) return; // another chat was opened meanwhile
    clearMessages();
    for (const m of [...Messages].reverse()) {
      const mine = m.Sender === UserId;
      // ReadStatus is keyed by the receiver: on my messages, it says whether the partner read it.
      const read = mine && Object.values(m.ReadStatus || {}).includes("Read");
      showMessage({ mine, sender: mine ? me.name : openChat.title, text: m.Content, at: m.Timestamp, read });
    }
  });
  socket.on("group-chat", ({ Messages }) => {
    const chatId = asked.group.shift();
    if (chatId !== openChat?.id) return;
    clearMessages();
    for (const m of [...Messages].reverse()) {
      showMessage({ mine: m.Sender === me.name, sender: m.Sender, text: m.Content, at: m.Timestamp });
    }
  });

  // Live messages from others.
  socket.on("receive-personal-message", ({ ChatId, Content, Sender }) => {
    addChat({ id: ChatId, kind: "personal", title: Sender });
    received(ChatId, { mine: false, sender: Sender, text: Content });
  });
  socket.on("receive-group-message", ({ ChatId, Content, Sender }) => {
    received(ChatId, { mine: false, sender: Sender, text: Content });
  });

  // The partner read the chat: my messages there are read.
  socket.on("read-personal-msg-ack", ({ ChatId }) => {
    if (openChat?.id !== ChatId) return;
    for (const li of document.querySelectorAll("#messages .mine:not(.read)")) markRead(li);
  });

  // Chats that appear while we are connected.
  socket.on("create-personal-chat-partner", ({ ChatId, Partner }) => {
    addChat({ id: ChatId, kind: "personal", title: Partner });
    renderLists();
  });
  socket.on("create-group-chat-receiver", ({ GroupId, Name }) => {
    addChat({ id: GroupId, kind: "group", title: Name });
    renderLists();
  });
  socket.on("create-group-chat-creator", ({ GroupId, Name }) => {
    addChat({ id: GroupId, kind: "group", title: Name });
    renderLists();
  });

  // Starting a chat with someone: search, check for an existing chat, else create one.
  socket.on("searched-user", ({ Users }) => showSearchResults(Users));
  socket.on("create-chat-result", ({ Exists, ChatId, Partner }) => {
    if (Exists === 1) {
      addChat({ id: ChatId, kind: "personal", title: Partner });
      renderLists();
      open(ChatId);
    } else {
      socket.emit("create-personal-chat", { Receiver: pendingPartner.id, Partner, UserName: me.name });
    }
  });
  socket.on("create-personal-chat-creator", ({ ChatId, Partner }) => {
    addChat({ id: ChatId, kind: "personal", title: Partner });
    renderLists();
    open(ChatId);
  });
}

// ------------------------------------------------------------------ chats

function addChat(chat) {
  const known = chats.get(chat.id);
  if (known) return known;
  const c = { unread: 0, last: new Date().toISOString(), ...chat };
  chats.set(c.id, c);
  return c;
}

function open(chatId) {
  const chat = chats.get(chatId);
  if (!chat) return;
  openChat = chat;
  chat.unread = 0;
  renderLists();
  $("chat-title").textContent = chat.title;
  $("composer").hidden = false;
  clearMessages();
  if (chat.kind === "personal") {
    asked.personal.push(chat.id);
    socket.emit("fetch-personal-chat", { ChatId: chat.id, Partner: chat.title });
  } else {
    asked.group.push(chat.id);
    socket.emit("fetch-group-chat", { GroupId: chat.id });
  }
  markChatRead(chat);
  $("message").focus();
}

function markChatRead(chat) {
  if (chat.kind === "personal") socket.emit("read-personal-message", { ChatId: chat.id });
  else socket.emit("read-group-message", { GroupId: chat.id });
}

function send(text) {
  const chat = openChat;
  if (chat.kind === "personal") socket.emit("send-personal-message", { ChatId: chat.id, Content: text });
  else socket.emit("send-group-message", { GroupId: chat.id, Content: text });
  chat.last = new Date().toISOString();
  renderLists();
  showMessage({ mine: true, sender: me.name, text });
}

function received(chatId, message) {
  const chat = chats.get(chatId);
  if (!chat) return; // a group we have not heard of yet; it shows on the next visit
  chat.last = new Date().toISOString();
  if (openChat?.id === chatId) {
    showMessage(message);
    markChatRead(chat);
  } else {
    chat.unread += 1;
  }
  renderLists();
}

function startChatWith(user) {
  pendingPartner = { id: user._id, name: user.Name };
  $("search").value = "";
  $("search-results").replaceChildren();
  socket.emit("check-chat", { Receiver: user._id });
}

// ------------------------------------------------------------------ REST

async function postJson(path, body) {
  const res = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return res.json().catch(() => ({}));
}

async function signIn(email, password) {
  setStatus("Signing in…");
  const answer = await postJson("/login", { email, password });
  // success is a number: 1 signed in; 0, -1, -2 say why not.
  if (answer.success === 1) connect();
  else setStatus(answer.message || answer.msg || "Sign-in failed");
}

async function signUp(name, email, password) {
  const answer = await postJson("/signup", { name, email, password });
  setStatus(answer.success === 1 ? "Signed up: open the link in the verification mail, then sign in." : answer.message);
}

async function signOut() {
  await postJson("/logout", {});
  socket.disconnect();
  me = null;
  showSignIn();
}

// ------------------------------------------------------------------ drawing

function setStatus(text) {
  $("status").textContent = text;
  $("status").hidden = !text;
}

function showSignIn() {
  me = null;
  chats.clear();
  openChat = null;
  $("me").textContent = "";
  $("sign-out").hidden = true;
  $("chat-view").hidden = true;
  $("sign-in-view").hidden = false;
  setStatus("");
}

function showChat() {
  $("me").textContent = `Signed in as ${me.name}`;
  $("sign-out").hidden = false;
  $("sign-in-view").hidden = true;
  $("chat-view").hidden = false;
  setStatus("");
}

function renderLists() {
  for (const kind of ["personal", "group"]) {
    const list = $(`${kind}-list`);
    const mine = [...chats.values()].filter((c) => c.kind === kind);
    mine.sort((a, b) => (a.last < b.last ? 1 : -1)); // newest first
    const items = mine.map((c) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.chatId = c.id;
      button.textContent = c.title;
      if (c.unread > 0) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = c.unread;
        button.append(" ", badge);
      }
      button.addEventListener("click", () => open(c.id));
      if (openChat?.id === c.id) li.className = "active";
      li.append(button);
      return li;
    });
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = kind === "personal" ? "No chats yet" : "No groups yet";
      items.push(li);
    }
    list.replaceChildren(...items);
  }
}

function showSearchResults(users) {
  const items = users.map((u) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "search-result";
    button.textContent = `${u.Name} <${u.Email}>`;
    button.addEventListener("click", () => startChatWith(u));
    li.append(button);
    return li;
  });
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "Nobody by that name";
    items.push(li);
  }
  $("search-results").replaceChildren(...items);
}

function clearMessages() {
  $("messages").replaceChildren();
}

// Text goes in with textContent, never innerHTML: a message is not markup.
function showMessage({ mine, sender, text, at, read }) {
  const li = document.createElement("li");
  li.className = mine ? "mine" : "theirs";
  const who = document.createElement("span");
  who.className = "sender";
  who.textContent = sender;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  const time = document.createElement("time");
  const when = at ? new Date(at) : new Date();
  time.dateTime = when.toISOString();
  time.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  li.append(who, body, time);
  if (mine && openChat.kind === "personal") {
    // Read receipts of one-to-one chats: "sent", then "read" once the partner read it.
    const receipt = document.createElement("span");
    receipt.className = "receipt";
    receipt.textContent = "sent";
    li.append(receipt);
    if (read) markRead(li);
  }
  $("messages").append(li);
  li.scrollIntoView({ block: "end" });
}

function markRead(li) {
  li.classList.add("read");
  li.querySelector(".receipt").textContent = "read";
}

// ------------------------------------------------------------------ wiring

$("sign-in-form").addEventListener("submit", (e) => {
  e.preventDefault();
  signIn($("sign-in-email").value.trim(), $("sign-in-password").value);
});
$("sign-up-form").addEventListener("submit", (e) => {
  e.preventDefault();
  signUp($("sign-up-name").value.trim(), $("sign-up-email").value.trim(), $("sign-up-password").value);
});
$("sign-out").addEventListener("click", signOut);
$("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("search").value.trim();
  if (name) socket.emit("search-user", { Name: name, Type: "Search" });
});
$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("message").value.trim();
  if (!text || !openChat) return;
  send(text);
  $("message").value = "";
});

// Signed in already (the cookies are still good)? The greeting will tell; if
// not, auth-failure shows the sign-in form.
connect();
