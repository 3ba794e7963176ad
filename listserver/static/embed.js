/*! listserver embed.js: a listserver sign-up form on any page. No framework, no build step.

On the host page (`listserver forms embed <slug>` prints the tags with its own address B and slug):

  <div id="signup">
    <!-- optional: what people without JavaScript see; the script replaces it -->
    <form method="post" action="B/f/demo" target="_blank">
      <label>Email address <input type="email" name="email" required autocomplete="email"></label>
      <button>Sign up</button>
    </form>
  </div>
  <script src="B/f/demo/embed.js" data-target="#signup" async></script>

  data-target  CSS selector of the element to render into (default: right after the script tag)
  data-lang    language to ask for (default: the browser's)

The host page's origin must be on the form's list of allowed origins. The form renders in a
shadow root, so the page's styles do not reach it; these custom properties, set on the target
element (or any ancestor), do:
  --listserver-accent      buttons, links, focus ring    (#1f5fbf)
  --listserver-text        text colour                   (#1b1f24)
  --listserver-background  form background               (#fff)
  --listserver-font        font family                   (system-ui, sans-serif)
  --listserver-radius      corner radius                 (8px)

With a Content-Security-Policy, allow B in script-src and connect-src. Nothing else is needed:
styles are constructed stylesheets, no eval, no inline code, no cookies. If the script cannot
reach listserver (network, origin not allowed, an old browser), the visitor gets a plain HTML
form that posts to B/f/<slug> in a new tab (or the page's own no-JS form, as above).

The iframe variant (B/f/<slug>/frame) needs no script from B; `listserver forms embed <slug>`
prints it with the few lines that make the page follow its height.

Storage (the host page's own localStorage; in memory when it is missing or throws):
listserver:profile (signed profile token), listserver:<slug>:views, listserver:<slug>:dismissed.
*/
(function (W, D) {
  "use strict";
  // A host page may have replaced Promise, fetch, JSON, Array methods and more: take what we
  // need now, use callbacks and XMLHttpRequest, encode JSON ourselves, and never throw.
  var XHR = W.XMLHttpRequest, has = Object.prototype.hasOwnProperty, isArray = Array.isArray;
  var setTimer = W.setTimeout, mem = {}, me = D.currentScript, src = me && me.src, m, B, slug;
  var PATTERN = /^(https?:\/\/[^\/?#]+(?:\/[^?#]*?)?)\/f\/([a-z0-9][a-z0-9-]*)\/embed\.js(?:[?#]|$)/;
  try {
    if (!PATTERN.test(src || "")) {
      var tags = D.getElementsByTagName("script");
      for (var n = tags.length - 1; n >= 0; n--) if (PATTERN.test(tags[n].src || "")) { me = tags[n]; break; }
      src = me && me.src;
    }
    m = PATTERN.exec(src || "");
  } catch (e) { m = null; }
  if (!m) return;
  B = m[1];
  slug = m[2];
  var K_PROFILE = "listserver:profile", K_VIEWS = "listserver:" + slug + ":views",
    K_DISMISSED = "listserver:" + slug + ":dismissed";
  var attrTarget = me.getAttribute("data-target"), lang = me.getAttribute("data-lang");
  var def = null, msg = {}, stamp = "", recognised = false, target = null, root = null, panel = null,
    box = null, shown = false, plain = false;

  function get(key) {
    try {
      var value = W.localStorage.getItem(key);
      if (value !== null) return value;
    } catch (e) { /* private mode, blocked storage: memory only */ }
    return has.call(mem, key) ? mem[key] : null;
  }

  function put(key, value) {
    if (value === null) delete mem[key]; else mem[key] = String(value);
    try {
      if (value === null) W.localStorage.removeItem(key); else W.localStorage.setItem(key, value);
    } catch (e) { /* memory only */ }
  }

  function quote(s) {
    return '"' + String(s).replace(/[\\"\u0000-\u001f\u2028\u2029]/g, function (c) {
      return "\\u" + ("000" + c.charCodeAt(0).toString(16)).slice(-4);
    }) + '"';
  }

  function encode(v) {
    var s, i, k;
    if (v === null || v === undefined || (typeof v === "number" && !isFinite(v))) return "null";
    if (typeof v === "boolean" || typeof v === "number") return String(v);
    if (typeof v === "string") return quote(v);
    if (isArray(v)) {
      for (s = "[", i = 0; i < v.length; i++) s += (i ? "," : "") + encode(v[i]);
      return s + "]";
    }
    s = "";
    for (k in v) if (has.call(v, k)) s += (s ? "," : "") + quote(k) + ":" + encode(v[k]);
    return "{" + s + "}";
  }

  // done(status, body): status 0 when listserver could not be reached or refused this origin.
  function send(method, path, body, done) {
    var x, over = false;
    function end(status, data) {
      if (over) return;
      over = true;
      try { done(status, data && typeof data === "object" ? data : {}); } catch (e) { fallback(); }
    }
    try {
      x = new XHR();
      x.open(method, B + path, true);
      x.responseType = "json";
      x.timeout = 10000;
      x.withCredentials = false; // no cookies, like fetch's credentials: "omit"
      x.setRequestHeader("Accept", "application/json");
      if (body) x.setRequestHeader("Content-Type", "application/json");
      x.onload = function () { end(x.status, x.response); };
      x.onerror = x.ontimeout = x.onabort = function () { end(0); };
      x.send(body ? encode(body) : null);
    } catch (e) { end(0); }
  }

  function h(tag, attrs, kids) {
    var el = D.createElement(tag), k, i;
    for (k in attrs) {
      if (!has.call(attrs, k) || attrs[k] === null || attrs[k] === undefined || attrs[k] === false) continue;
      if (k === "text") el.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), attrs[k]);
      else el.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
    }
    for (i = 0; kids && i < kids.length; i++) if (kids[i]) el.appendChild(kids[i]);
    return el;
  }

  function text(key, otherwise) {
    return typeof msg[key] === "string" && msg[key] ? msg[key] : otherwise;
  }

  var CSS = ":host{all:initial;display:block}" +
    ".ls{--a:var(--listserver-accent,#1f5fbf);--t:var(--listserver-text,#1b1f24);" +
    "--b:var(--listserver-background,#fff);--r:var(--listserver-radius,8px);--e:#b3261e;" +
    "font:16px/1.5 var(--listserver-font,system-ui,-apple-system,'Segoe UI',Roboto,sans-serif);" +
    "color:var(--t);background:var(--b);padding:1rem;border-radius:var(--r);max-width:100%;" +
    "overflow-wrap:anywhere;position:relative}" +
    "*{box-sizing:border-box}input,select,button{font:inherit}" +
    ".panel{position:fixed;z-index:2147483000;right:1rem;bottom:1rem;width:24rem;" +
    "max-width:calc(100vw - 2rem);max-height:calc(100vh - 2rem);overflow:auto;box-shadow:0 2px 12px rgba(0,0,0,.25)}" +
    "h2{font-size:1.25em;font-weight:700;line-height:1.3;margin:0 0 .5rem}.panel h2{margin-right:2.5rem}" +
    "p{margin:0 0 .75rem}.intro,.help,.hint,.consent{opacity:.8}.help,.consent{font-size:.875em}" +
    ".help{display:block;margin:0 0 .25rem}" +
    ".magnet{border-left:4px solid var(--a);padding:.25rem .75rem;margin:0 0 1rem}" +
    ".f{margin:0 0 1rem;border:0;padding:0;min-width:0}label,legend{display:block;font-weight:600;padding:0}" +
    "input,select{display:block;width:100%;min-height:44px;padding:.5rem .75rem;border:1px solid #8c959f;" +
    "border-radius:var(--r);background:#fff;color:#1b1f24;margin:0}" +
    ".c{display:flex;align-items:center;gap:.5rem;min-height:44px;font-weight:400}" +
    ".c input{width:22px;min-height:22px;height:22px;flex:none;accent-color:var(--a)}" +
    "[aria-invalid=true]{border-color:var(--e);border-width:2px}" +
    ".err,.alert{color:var(--e);font-weight:600;font-size:.9em;margin:.25rem 0 0}.alert{margin:0 0 .75rem}" +
    ".sug{background:#fff8c5;color:#1b1f24;padding:.5rem .75rem;border-radius:var(--r);margin:.5rem 0 0}" +
    "button{display:block;width:100%;min-height:44px;padding:.6rem 1rem;border:0;border-radius:var(--r);" +
    "background:var(--a);color:#fff;font-weight:600;cursor:pointer}" +
    ".sug button{width:auto;margin:.25rem 0}" +
    "button.link{width:auto;display:inline-block;background:none;color:var(--a);text-decoration:underline;" +
    "padding:0 .25rem;font-weight:400}" +
    ".x{position:absolute;top:.25rem;right:.25rem;width:44px;height:44px;padding:0;background:none;" +
    "color:var(--t);font-size:1.5em;line-height:1}" +
    ":focus-visible{outline:3px solid var(--a);outline-offset:2px}" +
    ".hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    "a{color:var(--a)}[hidden]{display:none}[data-plain] input{margin-bottom:1rem}";

  function style(shadow) {
    try { // constructed stylesheets are not subject to the host page's style-src
      var sheet = new W.CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch (e) {
      shadow.appendChild(h("style", { text: CSS }));
    }
  }

  function mount() {
    var holder = target, mode = def && def.display && def.display.mode;
    if (box) return box;
    if (mode === "panel") {
      holder = panel = h("div", { "data-listserver-panel": slug });
      D.body.appendChild(panel);
    }
    try {
      root = holder.attachShadow({ mode: "open" });
      style(root);
    } catch (e) {
      root = holder; // an old browser, or a second copy of this script on the same element
    }
    box = h("div", { "class": "ls" + (panel ? " panel" : ""), lang: def && def.language, dir: def && def.dir,
      role: panel ? "dialog" : null, "aria-label": panel && def ? def.title : null });
    root.appendChild(box);
    return box;
  }

  function clear() {
    while (box.firstChild) box.removeChild(box.firstChild);
    if (panel) {
      box.appendChild(h("button", { type: "button", "class": "x", "aria-label": text("close", "Close"),
        text: "\u00d7", onclick: dismiss }));
    }
  }

  function dismiss() {
    put(K_DISMISSED, now());
    drop(panel);
  }

  function drop(node) {
    if (node && node.parentNode) node.parentNode.removeChild(node);
  }

  function now() {
    return new Date().getTime();
  }

  // Without a working script path: a plain form that posts to listserver in a new tab.
  function fallback() {
    if (plain && box && box.querySelector("form[data-plain]")) return;
    plain = true;
    try {
      if (!target) return;
      var hadForm = target.getElementsByTagName("form").length;
      if (hadForm && (!box || panel)) { // the page's own no-JS form is still there, untouched
        drop(panel);
        return;
      }
      mount();
      clear();
      if (hadForm) return box.appendChild(h("slot")); // out from under our shadow root
      var email = field("email") || { key: "email", type: "email", label: "Email address", required: true };
      box.appendChild(h("form", { method: "post", action: B + "/f/" + slug, target: "_blank", "data-plain": "",
        "accept-charset": "utf-8" }, [
        def ? h("h2", { text: def.title }) : null,
        h("label", { "for": "ls-email", text: email.label }),
        h("input", { id: "ls-email", type: "email", name: "email", required: true, autocomplete: "email",
          maxlength: email.max_length || 254 }),
        honeypot(), stamp ? h("input", { type: "hidden", name: def.stamp_field || "_ts", value: stamp }) : null,
        def ? consentNote() : null,
        h("button", { type: "submit", text: def ? def.button : "Sign up" })
      ]));
    } catch (e) { /* nothing more we can do without breaking the page */ }
  }

  function consentNote() {
    var url = typeof def.privacy_url === "string" && /^https?:\/\//i.test(def.privacy_url) ? def.privacy_url : null;
    return h("p", { "class": "consent" }, [D.createTextNode(def.consent), url ? D.createTextNode(" ") : null,
      url ? h("a", { href: url, target: "_blank", rel: "noopener", text: text("privacy", "Privacy policy") }) : null]);
  }

  function notYou() {
    return h("button", { type: "button", "class": "link", text: text("not_you", "Not you?"),
      onclick: function () { put(K_PROFILE, null); recognised = false; ask(null); } });
  }

  // Nothing left to ask a recognised visitor. The preference link itself never comes to this page:
  // the token kept here proves nothing about who holds it (anyone can type anyone's address), and
  // the host page's scripts can read what we show. listserver's own page emails it to the mailbox.
  function allSet() {
    box.hidden = false;
    box.appendChild(h("div", { role: "status", "class": "note" }, [
      h("h2", { tabindex: "-1", text: text("all_set", "") }),
      h("p", { text: text("all_set_text", "") }),
      h("p", {}, [D.createTextNode(text("preferences_question", "") + " "),
        h("a", { href: B + "/preferences/new-link", target: "_blank", rel: "noopener",
          text: text("preferences_link", "") })]),
      h("p", {}, [notYou()])]));
  }

  function honeypot() {
    return h("div", { "class": "hp", "aria-hidden": "true", inert: true }, [
      h("label", {}, [D.createTextNode("Leave this empty"),
        h("input", { type: "text", name: def && def.honeypot || "_hp", tabindex: "-1", autocomplete: "off" })])]);
  }

  function field(key) {
    for (var i = 0; def && i < def.fields.length; i++) if (def.fields[i].key === key) return def.fields[i];
    return null;
  }

  function describe(input, f) {
    var ids = (f.help ? f.id + "-help " : "") + (f.error ? f.id + "-err" : "");
    if (ids) input.setAttribute("aria-describedby", ids.replace(/ $/, ""));
    else input.removeAttribute("aria-describedby");
  }

  function question(f, at) {
    var id = "ls-" + slug + "-" + at, kids, input, i, c, opts, type = f.type;
    f = { key: f.key, type: type, label: f.label, help: f.help, required: f.required, choices: f.choices || [],
      id: id, inputs: [], spec: f };
    var optional = f.required || !text("optional", "") ? "" : " (" + text("optional", "") + ")";
    var help = f.help ? h("span", { "class": "help", id: id + "-help", text: f.help }) : null;
    if (isArray(f.spec.parts)) return address(f, optional, help);
    if (type === "multi_select" || (f.spec.multiple && type === "select")) {
      kids = [h("legend", {}, labelled(f.label, optional)), help];
      for (i = 0; i < f.choices.length; i++) {
        c = f.choices[i];
        input = h("input", { type: "checkbox", name: f.key, value: c.value, id: id + "-" + i });
        f.inputs[i] = input;
        kids[i + 2] = h("label", { "class": "c", "for": id + "-" + i }, [input, D.createTextNode(c.label)]);
      }
      f.node = h("fieldset", { "class": "f", "aria-describedby": f.help ? id + "-help" : null }, kids);
      f.first = f.inputs[0];
      return f;
    }
    if (type === "checkbox" || type === "consent") {
      input = h("input", { type: "checkbox", name: f.key, value: "1", id: id, required: !!f.required });
      f.node = h("div", { "class": "f" }, [h("label", { "class": "c", "for": id }, labelled(f.label, optional, input)),
        help]);
    } else {
      if (type === "select" || type === "country") {
        opts = [h("option", { value: "", text: text("choose", "\u2026") })];
        for (i = 0; i < f.choices.length; i++) {
          opts[i + 1] = h("option", { value: f.choices[i].value, text: f.choices[i].label });
        }
        input = h("select", { id: id, name: f.key, required: !!f.required }, opts);
      } else {
        input = h("input", { id: id, name: f.key, required: !!f.required,
          type: f.spec.input_type || { email: "email", phone: "tel", date: "date" }[type] || "text",
          autocomplete: f.spec.autocomplete || (type === "email" ? "email" : null), maxlength: f.spec.max_length,
          inputmode: f.spec.inputmode || (type === "number" ? "decimal" : null),
          autocapitalize: type === "email" ? "off" : null, spellcheck: type === "email" ? "false" : null });
      }
      f.node = h("div", { "class": "f" }, [h("label", { "for": id }, labelled(f.label, optional)), help, input]);
    }
    f.inputs[0] = f.first = input;
    describe(input, f);
    return f;
  }

  function address(f, optional, help) {
    var kids = [h("legend", {}, labelled(f.label, optional)), help], i, j, p, input, opts;
    f.parts = [];
    for (i = 0; i < f.spec.parts.length; i++) {
      p = f.spec.parts[i];
      if (isArray(p.choices)) {
        opts = [h("option", { value: "", text: text("choose", "\u2026") })];
        for (j = 0; j < p.choices.length; j++) {
          opts[j + 1] = h("option", { value: p.choices[j].value, text: p.choices[j].label,
            selected: p.choices[j].value === p.default });
        }
        input = h("select", { id: f.id + "-" + p.key, name: f.key + "." + p.key, autocomplete: p.autocomplete }, opts);
      } else {
        input = h("input", { id: f.id + "-" + p.key, name: f.key + "." + p.key, type: "text",
          autocomplete: p.autocomplete, maxlength: p.max_length });
      }
      f.parts[i] = { key: p.key, input: input, box: h("div", {}, [h("label", { "for": input.id, text: p.label }), input]) };
      kids[kids.length] = f.parts[i].box;
      f.inputs[i] = input;
    }
    f.first = f.inputs[0];
    f.node = h("fieldset", { "class": "f", "aria-describedby": f.help ? f.id + "-help" : null }, kids);
    return f;
  }

  // Errors of an address by part ({city: "…"}): each under its input; the first for the alert.
  function showParts(q, errs) {
    var i, p, first = null;
    for (i = 0; i < q.parts.length; i++) {
      p = q.parts[i];
      drop(p.box.querySelector(".err"));
      if (errs && typeof errs[p.key] === "string") {
        p.box.appendChild(h("p", { "class": "err", id: p.input.id + "-err", text: errs[p.key] }));
        p.input.setAttribute("aria-invalid", "true");
        p.input.setAttribute("aria-describedby", p.input.id + "-err");
        if (!first) {
          first = p;
          q.first = p.input;
          q.error = p.box.firstChild.textContent + ": " + errs[p.key];
        }
      } else {
        p.input.removeAttribute("aria-invalid");
        p.input.removeAttribute("aria-describedby");
      }
    }
    return first;
  }

  function labelled(words, optional, input) {
    return [input, D.createTextNode(words), optional ? h("span", { "class": "hint", text: optional }) : null];
  }

  function value(f) {
    var i, list = [], parts = {};
    if (f.parts) {
      for (i = 0; i < f.parts.length; i++) parts[f.parts[i].key] = f.parts[i].input.value;
      return parts;
    }
    if (f.inputs.length > 1 || f.type === "multi_select") {
      for (i = 0; i < f.inputs.length; i++) if (f.inputs[i].checked) list[list.length] = f.inputs[i].value;
      return list;
    }
    return f.first.type === "checkbox" ? f.first.checked : f.first.value;
  }

  function blank(v) {
    var k;
    if (v && typeof v === "object" && !isArray(v)) { // an address: the country alone is no answer
      for (k in v) if (has.call(v, k) && k !== "country" && !blank(v[k])) return false;
      return true;
    }
    return v === false || (isArray(v) ? !v.length : !String(v).replace(/\s+/g, ""));
  }

  // A form with the given questions (keys from /next); `note` ({title, text, hint, magnet}) goes above it.
  function render(keys, note) {
    var questions = [], i, f, limit = def.fields_per_view || 99, email = false;
    mount();
    clear();
    for (i = 0; i < keys.length && questions.length < limit; i++) {
      f = field(keys[i]);
      if (f) {
        questions[questions.length] = question(f, i);
        if (f.type === "email") email = true;
      }
    }
    var label = recognised ? text("save", def.button) : def.button;
    var status = h("p", { role: "status", "aria-live": "polite", "class": "hint" });
    if (note) box.appendChild(noteOf(note));
    if (!questions.length) {
      if (note) return;
      if (recognised && def.when_complete !== "nothing") return allSet();
      if (panel) drop(panel); else box.hidden = true; // nothing left to ask
      return;
    }
    box.hidden = false;
    var hp = honeypot(), button = h("button", { type: "submit", text: label });
    var alert = h("p", { "class": "alert", role: "alert" });
    var form = h("form", { method: "post", action: B + "/f/" + slug, target: "_blank", novalidate: true,
      "accept-charset": "utf-8" }, [alert]);
    for (i = 0; i < questions.length; i++) form.appendChild(questions[i].node);
    form.appendChild(hp);
    form.appendChild(h("input", { type: "hidden", name: def.stamp_field || "_ts", value: stamp }));
    if (get(K_PROFILE)) form.appendChild(h("input", { type: "hidden", name: "profile_token", value: get(K_PROFILE) }));
    if (email && def.consent) form.appendChild(consentNote());
    form.appendChild(button);
    form.appendChild(status);
    if (recognised) form.appendChild(h("p", {}, [notYou()]));
    box.appendChild(h("h2", { tabindex: "-1", text: def.title }));
    if (recognised) box.appendChild(h("p", { "class": "intro", text: text("more", "") }));
    else {
      if (def.intro) box.appendChild(h("p", { "class": "intro", text: def.intro }));
      if (def.lead_magnet) {
        box.appendChild(h("div", { "class": "magnet" }, [h("strong", { text: def.lead_magnet.title }),
          def.lead_magnet.description ? h("p", { text: def.lead_magnet.description }) : null]));
      }
    }
    box.appendChild(form);
    var checked = null, busy = false;

    form.addEventListener("submit", function (event) {
      if (plain) return; // listserver could not be reached: let the browser post it in a new tab
      event.preventDefault();
      if (busy) return;
      var answers = {}, errors = {}, bad = false, j, v;
      for (j = 0; j < questions.length; j++) {
        v = value(questions[j]);
        answers[questions[j].key] = v;
        if (questions[j].required && blank(v)) { errors[questions[j].key] = text("required", "Required"); bad = true; }
      }
      if (bad) return show(errors, {});
      answers[def.honeypot || "_hp"] = hp.getElementsByTagName("input")[0].value;
      answers[def.stamp_field || "_ts"] = stamp;
      if (get(K_PROFILE)) answers.profile_token = get(K_PROFILE);
      if (checked !== null && answers.email === checked) answers._email_checked = checked;
      busy = true;
      button.textContent = text("sending", "\u2026");
      button.setAttribute("aria-disabled", "true");
      status.textContent = text("sending", "");
      post(answers, 0);
    });

    // One submission. A second step listserver asks for (a fresh stamp to wait out, a challenge
    // to solve) is done here without the visitor: they see "Sending…" a moment longer.
    function post(answers, round) {
      send("POST", "/f/" + slug, answers, function (code, data) {
        if (code === 200 && round < 3 && (data.status === "retry" || data.status === "challenge")) {
          return secondStep(answers, data, function () { post(answers, round + 1); });
        }
        busy = false;
        button.textContent = label;
        button.removeAttribute("aria-disabled");
        status.textContent = "";
        if (code === 200 && (data.status === "check_inbox" || data.status === "saved")) return saved(data);
        if (code === 422) return show(data.errors || {}, data.suggestions || {});
        alert.className = "alert";
        alert.textContent = data.message || text("failed", "Something went wrong.");
        if (code === 0 || code === 403) plain = true; // the next press posts the plain form
      });
    }

    function show(errors, suggestions) {
      var first = null, j, q;
      alert.textContent = "";
      for (j = 0; j < questions.length; j++) {
        q = questions[j];
        drop(q.node.querySelector(".err"));
        drop(q.node.querySelector(".sug"));
        q.error = typeof errors[q.key] === "string" ? errors[q.key] : null;
        if (q.parts) {
          q.first = q.inputs[0];
          if (showParts(q, q.error ? null : errors[q.key])) { first = first || q; continue; }
        }
        if (q.error) {
          q.node.appendChild(h("p", { "class": "err", id: q.id + "-err", text: q.error }));
          first = first || q;
        }
        if (q.error) q.first.setAttribute("aria-invalid", "true"); else q.first.removeAttribute("aria-invalid");
        if (typeof suggestions[q.key] === "string") {
          checked = q.first.value;
          q.error = text("suggest", "Did you mean {suggestion}?").replace("{suggestion}", suggestions[q.key]);
          q.node.appendChild(suggestion(q, suggestions[q.key]));
          first = first || q;
        }
        describe(q.first, q);
      }
      if (first) { // said once for screen readers; the eye finds it beside the field
        alert.className = "alert sr";
        alert.textContent = first.label + ": " + first.error;
        first.first.focus();
      } else {
        for (j in errors) if (has.call(errors, j)) alert.textContent = errors[j]; // not a question shown here
        alert.className = "alert";
      }
    }

    function suggestion(q, suggested) {
      return h("div", { "class": "sug", id: q.id + "-err" }, [
        h("p", { text: q.error }),
        h("button", { type: "button", text: text("use_suggestion", "Yes, use it"), onclick: function () {
          q.first.value = suggested;
          checked = null;
          if (form.requestSubmit) form.requestSubmit(button); else button.click();
        } }),
        D.createTextNode(" "),
        h("button", { type: "button", "class": "link", text: text("keep_typed", "No"), onclick: function () {
          if (form.requestSubmit) form.requestSubmit(button); else button.click();
        } })
      ]);
    }
  }

  // {"status": "retry", "after_ms", "stamp"} or {"status": "challenge", "challenge", "field"}: then again().
  function secondStep(answers, data, again) {
    var started = now(), wait = +data.after_ms || 0;
    function resend(solution) {
      if (solution) answers[data.field || "_pow"] = solution;
      setTimer(again, Math.max(0, wait - (now() - started)));
    }
    if (typeof data.stamp === "string" && data.stamp) answers[def.stamp_field || "_ts"] = stamp = data.stamp;
    if (data.status !== "challenge") return resend(null);
    solver(function (solve) {
      if (!solve) return resend(null); // listserver asks again, and after three rounds says why
      solve(data.challenge, resend);
    });
  }

  function solver(done) {
    var ready = function () { done(W.listserverChallenge && W.listserverChallenge.solve); };
    if (W.listserverChallenge) return ready();
    (D.head || D.documentElement).appendChild(h("script", { src: B + "/static/challenge.js", async: true, onload: ready,
      onerror: function () { done(null); } }));
  }

  function noteOf(note) {
    var magnet = note.magnet && note.magnet.title ? note.magnet : null;
    return h("div", { role: "status", "class": "note" }, [
      note.title ? h("h2", { tabindex: "-1", text: note.title }) : null,
      h("p", { tabindex: "-1", text: note.text }),
      note.hint ? h("p", { "class": "hint", text: note.hint }) : null,
      magnet ? h("div", { "class": "magnet" }, [h("strong", { text: magnet.title }),
        magnet.description ? h("p", { text: magnet.description }) : null,
        magnet.url ? h("p", {}, [h("a", { href: magnet.url, target: "_blank", rel: "noopener",
          text: magnet.button || text("get_it", magnet.title) })]) : null]) : null]);
  }

  function saved(data) {
    var next = isArray(data.next) ? data.next : [], inbox = data.status === "check_inbox";
    if (typeof data.profile_token === "string" && data.profile_token) put(K_PROFILE, data.profile_token);
    // A new visitor goes to their inbox first; the next questions wait for their return.
    recognised = recognised || !inbox;
    render(inbox ? [] : next, { title: inbox ? text("check_inbox", "") : "", magnet: data.lead_magnet,
      text: data.message || text("thanks", ""), hint: inbox ? text("spam", "") : "" });
    var first = box.querySelector(".note [tabindex]");
    if (first) first.focus();
  }

  // Which questions to ask this visitor now; a fresh render stamp comes with them.
  function ask(note) {
    var token = get(K_PROFILE);
    send("POST", "/f/" + slug + "/next", { profile_token: token }, function (code, data) {
      if (code !== 200 || typeof data.stamp !== "string" || !isArray(data.fields)) return fallback();
      stamp = data.stamp;
      recognised = !!data.recognised;
      render(data.fields, note);
    });
  }

  function reveal() {
    if (shown) return;
    shown = true;
    ask(null);
  }

  function scrolled() {
    var page = D.documentElement, depth = ((W.pageYOffset || 0) + W.innerHeight) / Math.max(page.scrollHeight, 1);
    return depth * 100 >= (+def.display.value || 0);
  }

  function schedule() {
    var rule = def.display || {}, value = +rule.value || 0, views = +get(K_VIEWS) || 0;
    var dismissed = +get(K_DISMISSED) || 0;
    if (rule.mode === "panel" && dismissed &&
        now() - dismissed < (+rule.dismiss_days || 0) * 864e5) return;
    if (rule.trigger === "pageviews" && views < value) return;
    if (rule.trigger === "seconds") return setTimer(reveal, value * 1000);
    if (rule.trigger === "scroll" && !scrolled()) {
      var onScroll = function () {
        if (!scrolled()) return;
        W.removeEventListener("scroll", onScroll);
        reveal();
      };
      return W.addEventListener("scroll", onScroll, { passive: true });
    }
    reveal();
  }

  function onKey(event) {
    if (event.key !== "Escape" || !panel || !panel.parentNode) return;
    var active = D.activeElement;
    if (active === panel || active === D.body || !active) dismiss();
  }

  // An ls_pt in the address (from a link in one of our emails) names the visitor: keep it, hide it.
  function takeToken() {
    var found = /[?&#]ls_pt=([^&#]*)/.exec(W.location.href);
    if (!found) return;
    try { put(K_PROFILE, decodeURIComponent(found[1])); } catch (e) { return; }
    var clean = W.location.href.replace(/([?&#])ls_pt=[^&#]*(&?)/, function (all, lead, amp) {
      return amp || lead !== "&" ? lead : "";
    }).replace(/[?#](?=#|$)/, "");
    try { W.history.replaceState(W.history.state, "", clean); } catch (e) { /* sandboxed frames */ }
  }

  function findTarget() {
    if (attrTarget) return D.querySelector(attrTarget);
    var div = h("div", { "data-listserver-form": slug });
    me.parentNode.insertBefore(div, me.nextSibling);
    return div;
  }

  function start() {
    try {
      target = findTarget();
      if (!target) return;
      if (!XHR || !target.attachShadow) return fallback();
      D.addEventListener("keydown", onKey);
      send("GET", "/f/" + slug + "/definition?lang=" + encodeURIComponent(lang || W.navigator.language || ""), null,
        function (code, data) {
          if (code !== 200 || !isArray(data.fields)) return fallback();
          def = data;
          msg = data.messages && typeof data.messages === "object" ? data.messages : {};
          schedule();
        });
    } catch (e) { fallback(); }
  }

  try {
    takeToken();
    put(K_VIEWS, (+get(K_VIEWS) || 0) + 1);
    if (attrTarget && D.readyState === "loading") D.addEventListener("DOMContentLoaded", start);
    else start();
  } catch (e) { fallback(); }
})(window, document);
