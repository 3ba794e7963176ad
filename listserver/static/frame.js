/* listserver's form inside an <iframe> (B/f/<slug>/frame): tells the host page how tall it is.

Posts {"type": "listserver:height", "slug": <slug>, "height": <CSS px>} to the parent window on
load, whenever the content changes size (a ResizeObserver, window resizes as a fallback) and so
after every submit, which loads a new page into the frame. The height is no secret, so any parent
may read it ("*"); the host's listener checks the message's origin (see embed.js for the snippet).
*/
(function (W, D) {
  "use strict";
  var last = -1, slug = D.body.getAttribute("data-slug") || "";

  function height() {
    // The root's own box: with .in-frame it is as tall as the content, not the frame's viewport.
    return Math.ceil(D.documentElement.getBoundingClientRect().height);
  }

  function tell() {
    var now = height();
    if (now === last || W.parent === W) return;
    last = now;
    try {
      W.parent.postMessage({ type: "listserver:height", slug: slug, height: now }, "*");
    } catch (e) { /* a parent that went away */ }
  }

  try {
    if (W.ResizeObserver) new W.ResizeObserver(tell).observe(D.documentElement);
    W.addEventListener("resize", tell);
    W.addEventListener("load", tell);
    tell();
  } catch (e) { /* the form works without its height being known */ }
})(window, document);
