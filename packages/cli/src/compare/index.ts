export { configHash, canonicalJson, parseSeeds, planJobs, resolveMethods, type CompareBudget, type CompareJob, type SkippedPair } from './plan';
export { JobError, cliJobRunner, runLocal, runState, type JobRunner, type RunRecord } from './execute';
export { summarize, renderResultsMarkdown, accuracyTable, costTable, formatGain, formatMeanStd, type SummaryRow, type MeanStd } from './table';
export { renderCompareReport, umap2d, type CompareReportInput, type LossSeries } from './report';
export { QUEUE_NAME, redisConnection, runOnQueue, startWorker, type QueuePolicy, type WorkerOptions } from './queue';
