/*! listserver challenge.js: the second step of a doubtful sign-up, done by the browser.

On listserver's own form pages (hosted and iframe) it finishes what the server asked of a form
that carries these attributes:
  data-wait-ms    the form's render stamp becomes old enough after this many milliseconds: a
                  press before then waits for it (the visitor sees "Sending…"), not a refusal;
  data-challenge  a proof-of-work challenge (JSON, ALTCHA's scheme): find the number whose
                  SHA-256 with the salt is the challenge; the answer goes into the form's input
                  named _pow, and a press waits for it.
The embed script loads this file only when listserver answers with a challenge, and calls
listserverChallenge.solve(challenge, done) with done(solution, milliseconds) (null when the
challenge cannot be solved). No cookies, no outside service, no inline code, no eval.
*/
(function (W, D) {
  "use strict";
  var K = new Int32Array([0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  var Wd = new Int32Array(64), H = new Int32Array(8);

  // SHA-256 of an ASCII string into H; written out so a phone does about a million a second.
  function sha256(s) {
    var n = s.length, blocks = (n + 72) >> 6, b, i, t, a, c, d, e, f, g, h, bb, t1, t2, x, y;
    H[0] = 0x6a09e667; H[1] = 0xbb67ae85; H[2] = 0x3c6ef372; H[3] = 0xa54ff53a;
    H[4] = 0x510e527f; H[5] = 0x9b05688c; H[6] = 0x1f83d9ab; H[7] = 0x5be0cd19;
    for (b = 0; b < blocks; b++) {
      for (i = 0; i < 16; i++) {
        for (t = 0, x = 0; x < 4; x++) {
          y = (b << 6) + (i << 2) + x;
          t = (t << 8) | (y < n ? s.charCodeAt(y) & 255 : y === n ? 0x80 : 0);
        }
        Wd[i] = t;
      }
      if (b === blocks - 1) { Wd[14] = (n / 0x20000000) | 0; Wd[15] = n << 3; }
      for (i = 16; i < 64; i++) {
        x = Wd[i - 15]; y = Wd[i - 2];
        Wd[i] = (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) + Wd[i - 7] +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)) + Wd[i - 16] | 0;
      }
      a = H[0]; bb = H[1]; c = H[2]; d = H[3]; e = H[4]; f = H[5]; g = H[6]; h = H[7];
      for (i = 0; i < 64; i++) {
        t1 = h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
          ((e & f) ^ (~e & g)) + K[i] + Wd[i] | 0;
        t2 = (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
          ((a & bb) ^ (a & c) ^ (bb & c)) | 0;
        h = g; g = f; f = e; e = d + t1 | 0; d = c; c = bb; bb = a; a = t1 + t2 | 0;
      }
      H[0] += a; H[1] += bb; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
    }
  }

  // Search in slices of about 40 ms, so the page stays responsive while the phone works.
  function solve(challenge, done) {
    var target = new Int32Array(8), i, n = 0, max, started = Date.now();
    try {
      max = +challenge.maxnumber;
      if (challenge.algorithm !== "SHA-256" || !/^[0-9a-f]{64}$/.test(challenge.challenge) || !(max >= 0)) {
        return done(null, 0);
      }
      for (i = 0; i < 8; i++) target[i] = parseInt(challenge.challenge.substr(i * 8, 8), 16) | 0;
    } catch (e) { return done(null, 0); }
    function slice() {
      var until = Date.now() + 40;
      for (; n <= max; n++) {
        sha256(challenge.salt + n);
        if (H[0] === target[0] && H[1] === target[1] && H[2] === target[2] && H[3] === target[3] &&
          H[4] === target[4] && H[5] === target[5] && H[6] === target[6] && H[7] === target[7]) {
          return done(challenge.salt + n + "." + challenge.signature, Date.now() - started);
        }
        if ((n & 1023) === 0 && Date.now() > until) { n++; return W.setTimeout(slice, 0); }
      }
      done(null, Date.now() - started);
    }
    slice();
  }

  W.listserverChallenge = { solve: solve };

  // Our own form pages: a press waits for the stamp's age and the challenge's answer, then posts.
  function finish(form) {
    var waitMs = +form.getAttribute("data-wait-ms") || 0, raw = form.getAttribute("data-challenge");
    var readyAt = Date.now() + waitMs, solved = !raw, pressed = false, challenge = null;
    var field = form.querySelector("input[name=_pow]");
    function go() {
      if (!pressed || !solved || Date.now() < readyAt) return;
      pressed = false;
      form.submit();
    }
    if (raw) {
      try { challenge = JSON.parse(raw); } catch (e) { solved = true; }
    }
    if (challenge) {
      solve(challenge, function (solution, took) {
        if (field && solution) field.value = solution;
        form.setAttribute("data-solved-ms", String(took));
        solved = true;
        go();
      });
    }
    form.addEventListener("submit", function (event) {
      if (solved && Date.now() >= readyAt) return; // nothing to wait for: the browser posts it
      event.preventDefault();
      if (pressed) return;
      pressed = true;
      var button = form.querySelector("button[type=submit]:not([name])");
      if (button) {
        button.setAttribute("aria-disabled", "true");
        button.textContent = form.getAttribute("data-sending") || button.textContent;
      }
      W.setTimeout(go, Math.max(0, readyAt - Date.now()));
    });
  }

  try {
    var forms = D.querySelectorAll("form[data-wait-ms], form[data-challenge]");
    for (var i = 0; i < forms.length; i++) finish(forms[i]);
  } catch (e) { /* the form still posts; the server asks again if it must */ }
})(window, document);
