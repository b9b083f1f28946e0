/**
 * The compare page's first series answer, started as early as the page can: an inline script in the
 * <head> (app/layout.tsx) reads what the page asks for from two <meta> tags React hoists above it,
 * `scaleboard-series` (the answer's URL, as seriesUrl makes it) and `scaleboard-series-worker` (the
 * worker's script, series-worker.ts), starts the worker, and files the answer's promise in the page's
 * shared answers (series-request.ts), where the early chart and the curves panel take it, each line's
 * values back as the answer's arrays (the worker hands them over as Float64Arrays). A refused
 * request rejects it (the panel then asks again and shows the server's message); a worker that cannot
 * start leaves the fetch to the page's own thread. Without the tags nothing happens.
 */
export const SERIES_META = "scaleboard-series";
export const SERIES_WORKER_META = "scaleboard-series-worker";

export const SERIES_STARTER_SCRIPT = `(function(){function meta(n){var e=document.querySelector('meta[name="'+n+'"]');return e&&e.getAttribute("content")}var u=meta("${SERIES_META}"),w=meta("${SERIES_WORKER_META}");if(!u||!w||typeof Worker!=="function")return;var m=self.scaleboardSeries=self.scaleboardSeries||new Map();function values(t,named){var a=new Array(t.length);for(var i=0;i<t.length;i++){var v=t[i];a[i]=named&&v-v!==0?(v!==v?"NaN":v>0?"Infinity":"-Infinity"):v}return a}function plain(answer){var s=answer&&answer.series;if(s)for(var i=0;i<s.length;i++){if(ArrayBuffer.isView(s[i].xs))s[i].xs=values(s[i].xs,false);if(ArrayBuffer.isView(s[i].ys))s[i].ys=values(s[i].ys,true)}return answer}if(m.has(u))return;var p=new Promise(function(ok,no){function here(){ok(fetch(u,{credentials:"same-origin"}).then(function(r){if(!r.ok)throw new Error("The server answered "+r.status);return r.json()}))}try{var k=new Worker(w);k.onmessage=function(e){k.terminate();if(e.data.error!==undefined)no(new Error(e.data.error));else ok(plain(e.data.answer))};k.onerror=function(){k.terminate();here()};k.postMessage({url:new URL(u,location.href).href})}catch(e){here()}});m.set(u,p);p.catch(function(){m.delete(u)})})()`;
