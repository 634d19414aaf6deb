/**
 * `nixosGenerations.filterGenerations` / `.clearFilter`: the view's filter over a long history (core/plan/filter
 * decides what matches; the view shows what was typed and how many rows are left in its description).
 */
import * as vscode from 'vscode';
import { parseFilter } from '../../core/plan/filter';
import type { CommandFactory } from '../context';

export const filterGenerations: CommandFactory = (services) => async () => {
  const text = await vscode.window.showInputBox({
    title: 'Filter generations',
    prompt:
      'Numbers (12, 10-20), days (since:2024-05-01, until:2024-06-30) or text (a version, kernel, commit…); all must match. Empty: show all.',
    value: services.explorer.currentFilter?.text ?? '',
    validateInput: (value) => {
      const r = parseFilter(value);
      return 'error' in r ? r.error : undefined;
    },
  });
  if (text === undefined) return false;
  const r = parseFilter(text);
  if ('error' in r) return false;
  services.explorer.setFilter(r.filter);
  return true;
};

export const clearFilter: CommandFactory = (services) => () => {
  services.explorer.setFilter(undefined);
  return true;
};
