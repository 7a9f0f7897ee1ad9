import type { Knex } from 'knex';
import * as createNetworks from './20261124090000_create_networks';
import * as createOffers from './20261124090100_create_offers';
import * as createCampaigns from './20261124090200_create_campaigns';
import * as createClicks from './20261124090300_create_clicks';
import * as createConversionTypes from './20261124090400_create_conversion_types';
import * as createFxRates from './20261124090500_create_fx_rates';
import * as createConnections from './20261124090600_create_connections';
import * as createSyncCheckpoints from './20261124090700_create_sync_checkpoints';
import * as createPullRuns from './20261124090800_create_pull_runs';
import * as createBackfills from './20261124090900_create_backfills';
import * as createUploads from './20261124091000_create_uploads';
import * as createConversions from './20261124091100_create_conversions';
import * as createRegistrationLog from './20261124091200_create_registration_log';
import * as addNetworkTrust from './20261128100000_add_network_trust';
import * as addRegistrationLogEvidence from './20261128100100_add_registration_log_evidence';
import * as addConversionNetworkStatus from './20261128100200_add_conversion_network_status';
import * as addConnectionWarnings from './20261128200000_add_connection_warnings';
import * as seedRevenueConversionType from './20261128300000_seed_revenue_conversion_type';
import * as addConnectionRevenueSchedule from './20261128300100_add_connection_revenue_schedule';
import * as createRevenueDays from './20261128300200_create_revenue_days';
import * as addPullRunRevenue from './20261128300300_add_pull_run_revenue';
import * as addConversionsRevenueDayIndex from './20261128300400_add_conversions_revenue_day_index';
import * as createConsoleSessions from './20261128600000_create_console_sessions';
import * as createConversionParts from './20261128450000_create_conversion_parts';
import * as pulledRejectionKeyPerClick from './20261128700000_pulled_rejection_key_per_click';
import * as addBackfillWaiting from './20261128500000_add_backfill_waiting';
import * as monthlyPartitioning from './20261128500100_monthly_partitioning';
import * as addConversionPricedManually from './20261129100000_add_conversion_priced_manually';

/**
 * Every migration in order. Append new ones at the end; never edit or reorder applied ones.
 * Imported statically so they run the same from compiled dist/ and under jest.
 */
export const migrations: Record<string, Knex.Migration> = {
  '20261124090000_create_networks': createNetworks,
  '20261124090100_create_offers': createOffers,
  '20261124090200_create_campaigns': createCampaigns,
  '20261124090300_create_clicks': createClicks,
  '20261124090400_create_conversion_types': createConversionTypes,
  '20261124090500_create_fx_rates': createFxRates,
  '20261124090600_create_connections': createConnections,
  '20261124090700_create_sync_checkpoints': createSyncCheckpoints,
  '20261124090800_create_pull_runs': createPullRuns,
  '20261124090900_create_backfills': createBackfills,
  '20261124091000_create_uploads': createUploads,
  '20261124091100_create_conversions': createConversions,
  '20261124091200_create_registration_log': createRegistrationLog,
  '20261128100000_add_network_trust': addNetworkTrust,
  '20261128100100_add_registration_log_evidence': addRegistrationLogEvidence,
  '20261128100200_add_conversion_network_status': addConversionNetworkStatus,
  '20261128200000_add_connection_warnings': addConnectionWarnings,
  '20261128300000_seed_revenue_conversion_type': seedRevenueConversionType,
  '20261128300100_add_connection_revenue_schedule': addConnectionRevenueSchedule,
  '20261128300200_create_revenue_days': createRevenueDays,
  '20261128300300_add_pull_run_revenue': addPullRunRevenue,
  '20261128300400_add_conversions_revenue_day_index': addConversionsRevenueDayIndex,
  '20261128600000_create_console_sessions': createConsoleSessions,
  '20261128450000_create_conversion_parts': createConversionParts,
  '20261128700000_pulled_rejection_key_per_click': pulledRejectionKeyPerClick,
  '20261128500000_add_backfill_waiting': addBackfillWaiting,
  '20261128500100_monthly_partitioning': monthlyPartitioning,
  '20261129100000_add_conversion_priced_manually': addConversionPricedManually,
};
