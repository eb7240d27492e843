/**
 * The temporal pretext tasks, as one plugin for `registry.use(...)`.
 *
 * @example
 * const registry = createRegistry().use(contextTasks).use(temporalTasks);
 */
export const temporalTasks = { tasks: [] } as const;
