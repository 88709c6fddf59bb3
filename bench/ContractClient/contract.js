// The contract's own client code (shared/reference/tool-execution-jobs-api.txt), copied as written, character for
// character between the markers. It is browser code: it uses `fetch` and `EventSource` with relative URLs and the
// free names `apiKey`, `pollJob`, `sleep`, `listJobs`, `submitJob`, `executeTool`, `getJobStatus` and `localStorage`,
// which the contract leaves to its reader; browser.js supplies them as a page would.
'use strict';
module.exports = function contractCode(globals) {
  const { apiKey, fetch, EventSource, pollJob, sleep, listJobs } = globals;

  // ---- contract: Polling Strategy / Exponential Backoff ----
async function pollJobWithBackoff(jobId, maxRetries = 10) {
  let retries = 0;
  let delay = 1000; // Start with 1 second
  
  while (retries < maxRetries) {
    try {
      const response = await fetch(`/jobs/${jobId}`, {
        headers: { 'Authorization': `Bearer ${apiKey}` }
      });
      const job = await response.json();
      
      if (['completed', 'failed', 'canceled', 'timeout'].includes(job.status)) {
        return job;
      }
      
      retries++;
      await new Promise(resolve => setTimeout(resolve, delay));
      delay = Math.min(delay * 1.5, 30000); // Max 30 second delay
      
    } catch (error) {
      console.error('Poll failed:', error);
      throw error;
    }
  }
  
  throw new Error('Job polling timeout');
}

  // ---- contract: Polling Strategy / Event Stream Polling ----
async function pollJobWithStream(jobId) {
  const eventSource = new EventSource(`/jobs/${jobId}/stream`);
  
  return new Promise((resolve, reject) => {
    eventSource.onmessage = (event) => {
      const job = JSON.parse(event.data);
      
      if (['completed', 'failed'].includes(job.status)) {
        eventSource.close();
        resolve(job);
      }
    };
    
    eventSource.onerror = (error) => {
      eventSource.close();
      reject(error);
    };
  });
}

  // ---- contract: Best Practices / 2. Handle All Job States ----
async function executeAndWait(jobId) {
  const job = await pollJob(jobId);
  
  switch (job.status) {
    case 'completed':
      console.log('Success:', job.result);
      break;
    case 'failed':
      console.error('Error:', job.error.message);
      break;
    case 'canceled':
      console.log('Job was canceled');
      break;
    case 'timeout':
      console.error('Job execution timed out');
      break;
  }
}

  // ---- contract: Best Practices / 4. Implement Timeout Logic ----
async function executeWithTimeout(jobId, timeoutMs = 3600000) {
  const startTime = Date.now();
  
  while (true) {
    const elapsed = Date.now() - startTime;
    
    if (elapsed > timeoutMs) {
      throw new Error(`Job execution timeout after ${elapsed}ms`);
    }
    
    const job = await pollJob(jobId);
    
    if (['completed', 'failed', 'canceled'].includes(job.status)) {
      return job;
    }
    
    await sleep(5000);
  }
}

  // ---- contract: Monitoring & Observability / Track Execution Metrics ----
async function getExecutionMetrics(tool) {
  const jobs = await listJobs({ 
    limit: 100,
    tool: tool 
  });
  
  const completed = jobs.filter(j => j.status === 'completed');
  const failed = jobs.filter(j => j.status === 'failed');
  
  return {
    totalJobs: jobs.length,
    successRate: completed.length / jobs.length,
    failureRate: failed.length / jobs.length,
    avgExecutionTime: completed.reduce((sum, j) => 
      sum + (j.completed_at - j.created_at), 0) / completed.length
  };
}

  return { pollJobWithBackoff, pollJobWithStream, executeAndWait, executeWithTimeout, getExecutionMetrics };
};
