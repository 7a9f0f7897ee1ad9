/**
 * The conversion script served at /cf/script.js. Plain ES5, no dependencies, no build step.
 *
 * Landing page: `<script src="https://track.example.com/cf/script.js"></script>` reads the click ID
 * from the URL (`cf_click_id`, `click_id`, `clickid` or `cid`; or the names in `data-click-param`)
 * and keeps it in a first-party cookie and localStorage of that page's own domain.
 *
 * Thank-you page, either form:
 *   <script src="…/cf/script.js" data-conversion data-payout="49.90" data-txid="ORD-1" data-ct="sale"></script>
 *   <script src="…/cf/script.js"></script>
 *   <script>tally('conversion', { payout: '49.90', txid: 'ORD-1', ct: 'sale', currency: 'EUR' });</script>
 * Calls made before the script loads can be queued with the usual stub:
 *   <script>window.tally = window.tally || function () { (tally.q = tally.q || []).push(arguments); };</script>
 *
 * The conversion goes to /cf/cv as an image request with the stored click ID. Values that are
 * placeholders (`OPTIONAL`, `{payout}`, `#s2#`, …) are never sent.
 */
export const CONVERSION_SCRIPT = `/*! Tally conversion script */
(function (w, d) {
  'use strict';
  var script = d.currentScript || (function () { var all = d.getElementsByTagName('script'); return all[all.length - 1]; })();
  var base = script && script.src ? script.src.replace(/\\/cf\\/script\\.js(\\?.*)?$/, '') : '';
  var NAME = 'cf_click_id';
  var names = ((script && script.getAttribute('data-click-param')) || 'cf_click_id,click_id,clickid,cid').split(',');
  var PLACEHOLDER = /[{}\\[\\]#<>%$]|^(optional|replace|undefined|null|none)$/i;
  var CLICK_ID = /^[A-Za-z0-9_-]{1,64}$/;
  var pending = [];

  function clean(value) {
    if (value === undefined || value === null) return '';
    value = String(value).replace(/^\\s+|\\s+$/g, '');
    return value === '' || PLACEHOLDER.test(value) ? '' : value;
  }
  function fromUrl() {
    var pairs = w.location.search.replace(/^\\?/, '').split('&');
    for (var n = 0; n < names.length; n++) {
      for (var i = 0; i < pairs.length; i++) {
        var eq = pairs[i].indexOf('=');
        if (eq < 0 || decodeURIComponent(pairs[i].slice(0, eq)) !== names[n].replace(/^\\s+|\\s+$/g, '')) continue;
        var value = clean(decodeURIComponent(pairs[i].slice(eq + 1).replace(/\\+/g, ' ')));
        if (CLICK_ID.test(value)) return value;
      }
    }
    return '';
  }
  function fromCookie() {
    var match = d.cookie.match(/(?:^|;\\s*)cf_click_id=([^;]+)/);
    var value = match ? clean(decodeURIComponent(match[1])) : '';
    return CLICK_ID.test(value) ? value : '';
  }
  function fromStorage() {
    try { var value = clean(w.localStorage.getItem(NAME)); return CLICK_ID.test(value) ? value : ''; } catch (e) { return ''; }
  }
  function remember(id) {
    d.cookie = NAME + '=' + encodeURIComponent(id) + '; Max-Age=7776000; Path=/; SameSite=Lax' + (w.location.protocol === 'https:' ? '; Secure' : '');
    try { w.localStorage.setItem(NAME, id); } catch (e) {}
  }

  var urlClickId = fromUrl();
  if (urlClickId) remember(urlClickId);

  var FIELDS = { payout: 'payout', txid: 'txid', transaction_id: 'txid', ct: 'ct', type: 'ct', conversion_type: 'ct', currency: 'payout_currency', payout_currency: 'payout_currency', status: 'status' };
  for (var p = 1; p <= 20; p++) FIELDS['param' + p] = 'param' + p;
  var sent = {};

  function conversion(data) {
    data = data || {};
    var id = clean(data.click_id) || urlClickId || fromCookie() || fromStorage();
    if (!CLICK_ID.test(id)) {
      if (w.console && w.console.warn) w.console.warn('tally: no click ID for this visitor; the conversion was not sent');
      return false;
    }
    var query = ['click_id=' + encodeURIComponent(id), 'src=script'];
    var used = {};
    for (var key in FIELDS) {
      if (!Object.prototype.hasOwnProperty.call(FIELDS, key) || used[FIELDS[key]]) continue;
      var value = clean(data[key]);
      if (value) { query.push(FIELDS[key] + '=' + encodeURIComponent(value)); used[FIELDS[key]] = true; }
    }
    var url = base + '/cf/cv?' + query.join('&');
    if (sent[url]) return true;
    sent[url] = true;
    var image = new Image(1, 1);
    pending.push(image);
    image.onload = image.onerror = function () { pending.splice(pending.indexOf(image), 1); };
    image.src = url;
    return true;
  }

  var queued = (w.tally && w.tally.q) || [];
  var api = function (command, data) { return command === 'conversion' ? conversion(data) : undefined; };
  api.conversion = conversion;
  api.clickId = function () { return urlClickId || fromCookie() || fromStorage() || null; };
  w.tally = api;
  for (var q = 0; q < queued.length; q++) api.apply(null, queued[q]);

  if (script && script.hasAttribute('data-conversion')) {
    var attr = function (name) { return script.getAttribute('data-' + name); };
    conversion({ payout: attr('payout'), txid: attr('txid'), ct: attr('ct'), currency: attr('currency'), status: attr('status') });
  }
})(window, document);
`;
