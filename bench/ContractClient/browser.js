// What a page around the contract's code would give it: fetch and EventSource on relative URLs (the page's origin
// is the server), the key in `apiKey`, and the helpers the contract names without defining them.
'use strict';
const { EventSource: NodeEventSource } = require('eventsource');
const contractCode = require('./contract.js');

function browser(base, apiKey, { streamAuth = 'none' } = {}) {
  const fetchRelative = (url, init) => fetch(new URL(url, base), init);
  const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

  // A browser's EventSource sends no Authorization header. streamAuth 'none' is that browser; 'query' adds the
  // key as ?access_token= as the README tells browsers to; 'header' is a Node client's EventSource with the header.
  class PageEventSource extends NodeEventSource {
    constructor(url, init) {
      const absolute = new URL(url, base);
      if (streamAuth === 'query') absolute.searchParams.set('access_token', apiKey);
      super(absolute, streamAuth !== 'header' ? init : {
        ...init,
        fetch: (input, options) => fetch(input, { ...options, headers: { ...options.headers, Authorization: `Bearer ${apiKey}` } }),
      });
    }
  }

  async function getJob(jobId) {
    const response = await fetchRelative(`/jobs/${jobId}`, { headers: { Authorization: `Bearer ${apiKey}` } });
    return response.json();
  }

  async function listJobs(query) {
    const params = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    const response = await fetchRelative(`/jobs?${params}`, { headers: { Authorization: `Bearer ${apiKey}` } });
    return (await response.json()).jobs;
  }

  // pollJob means two things in the contract: executeAndWait expects it to wait for the end (pollJobWithBackoff),
  // executeWithTimeout loops itself and expects one look. Each is given the one it expects.
  const waiting = contractCode({ apiKey, fetch: fetchRelative, EventSource: PageEventSource, sleep, listJobs, pollJob: id => waiting.pollJobWithBackoff(id) });
  const looking = contractCode({ apiKey, fetch: fetchRelative, EventSource: PageEventSource, sleep, listJobs, pollJob: getJob });
  return {
    ...waiting,
    executeWithTimeout: looking.executeWithTimeout,
    getJob,
    listJobs,
  };
}

module.exports = { browser };
