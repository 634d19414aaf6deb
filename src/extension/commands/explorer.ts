import type { CommandFactory } from '../context';
import { log } from '../log';

export const refresh: CommandFactory = (services) => () => services.explorer.refresh();

export const revealActivated: CommandFactory = (services) => () => services.explorer.revealActivated();

export const showLog: CommandFactory = () => () => log.show();
