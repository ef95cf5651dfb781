import base64
import logging
import pickle
import time
from datetime import date, timedelta

import numpy as np

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL, format_date
from odoo.tools.misc import hmac

from ..scoring import factors, learner
from ..scoring.features import LATE_DAYS, Rows, build_features
from ..scoring.ledger import read_ledger, to_day
from .res_partner import band_of

_logger = logging.getLogger(__name__)

# The most recent months the model does not train on, to be measured on.
HOLDOUT_DAYS = 91
# A customer's usual invoice: the median of its last invoices.
TYPICAL_INVOICES = 12
PREDICTORS = [("model", "Model"), ("baseline", "Baseline")]
PREDICTOR_REASONS = [
    ("better", "Better than the baseline on the held-out months"),
    ("worse", "Not better than the baseline on the held-out months"),
    ("little_history", "Too little history to train a model"),
]
_PAYLOAD_SCOPE = "collections_automation_score.model"
# The namespace of the advisory lock one company's scoring holds.
SCORING_LOCK = 2701
# A scoring that gave way to another of the same company runs again after
# these minutes.
_BUSY_RETRY_MINUTES = 10
# Day 0 of the ledger's day numbers.
_EPOCH = date(1970, 1, 1)
# The ledger's first day: every invoice since.
_FIRST_DAY = np.iinfo(np.int32).min


class CollectionScoreModel(models.Model):
    """One training of a company's payment score: what it learned from, how
    it did on the months it did not learn from, beside the baseline, and
    which of the two predicts."""

    _name = "collection.score.model"
    _description = "Payment score training"
    _order = "trained_at desc, id desc"
    _check_company_auto = True

    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    trained_at = fields.Datetime(
        string="Trained on", required=True, readonly=True, default=fields.Datetime.now
    )
    as_of = fields.Date(string="History until", required=True, readonly=True)
    holdout_from = fields.Date(string="Held out from", readonly=True)
    invoice_count = fields.Integer(string="Invoices learned from", readonly=True)
    customer_count = fields.Integer(string="Customers learned from", readonly=True)
    duration = fields.Float(string="Training time (s)", digits=(16, 1), readonly=True)
    holdout_rows = fields.Integer(string="Held-out invoices", readonly=True)
    holdout_late_rows = fields.Integer(string="Held-out invoices paid late", readonly=True)
    model_auc = fields.Float(string="Model AUC", digits=(16, 3), readonly=True)
    model_brier = fields.Float(string="Model Brier score", digits=(16, 3), readonly=True)
    model_date_error = fields.Float(string="Model pay-date error (days)", digits=(16, 1), readonly=True)
    model_interval_coverage = fields.Float(
        string="Model 80% interval coverage", digits=(16, 2), readonly=True
    )
    baseline_auc = fields.Float(string="Baseline AUC", digits=(16, 3), readonly=True)
    baseline_brier = fields.Float(string="Baseline Brier score", digits=(16, 3), readonly=True)
    baseline_date_error = fields.Float(string="Baseline pay-date error (days)", digits=(16, 1), readonly=True)
    calibration = fields.Json(readonly=True, help="Predicted and observed shares paid late, by decile.")
    holdout_breakdown = fields.Json(
        string="Held-out figures by moment",
        readonly=True,
        help="The held-out figures of the model and the baseline for the invoices seen when issued, and "
        "for those seen on their due date, still open.",
    )
    late_predictor = fields.Selection(PREDICTORS, string="Late payment predicted by", readonly=True)
    date_predictor = fields.Selection(PREDICTORS, string="Pay dates predicted by", readonly=True)
    predictor_reason = fields.Selection(PREDICTOR_REASONS, string="Why", readonly=True)
    quality_html = fields.Html(string="Quality", compute="_compute_quality_html", sanitize=False)
    # A pickled predictor is code to the interpreter that loads it: it is
    # signed with the database's secret and loaded only if the signature holds.
    payload = fields.Binary(
        string="Trained predictors", attachment=False, readonly=True, groups="base.group_system", copy=False
    )
    payload_signature = fields.Char(
        string="Signature of the trained predictors", readonly=True, groups="base.group_system", copy=False
    )

    def _compute_display_name(self):
        for training in self:
            training.display_name = self.env._(
                "Payment score of %(date)s", date=format_date(self.env, training.as_of)
            )

    def _compute_quality_html(self):
        for training in self:
            training.quality_html = self.env["ir.qweb"]._render(
                "collections_automation_score.collection_score_quality",
                {
                    "rows": training._prepare_quality_rows(),
                    "parts": training._prepare_quality_parts(),
                    "calibration": training._prepare_calibration_rows(),
                },
            )

    def _get_quality_figures(self):
        """(name, label, format, which is better: "high" or "low")."""
        labels = {
            "auc": self.env._("AUC of paying 15 days late or more (1 is perfect, 0.5 is chance)"),
            "brier": self.env._("Brier score (0 is perfect)"),
            "date_error": self.env._("Pay-date error, days on average"),
            "interval_coverage": self.env._("Pay dates within the 80% interval"),
        }
        return [
            ("auc", labels["auc"], "%.3f", "high"),
            ("brier", labels["brier"], "%.3f", "low"),
            ("date_error", labels["date_error"], "%.1f", "low"),
            ("interval_coverage", labels["interval_coverage"], "%.2f", None),
        ]

    def _prepare_quality_rows(self):
        self.ensure_one()
        rows = []
        for name, label, number_format, better in self._get_quality_figures():
            model = self[f"model_{name}"] if self.predictor_reason != "little_history" else None
            baseline = self[f"baseline_{name}"] if f"baseline_{name}" in self._fields else None
            winner = None
            if model is not None and baseline is not None and model != baseline:
                winner = "model" if (model > baseline) == (better == "high") else "baseline"
            rows.append(
                {
                    "name": name,
                    "label": label,
                    "model": number_format % model if model is not None else "",
                    "baseline": number_format % baseline if baseline is not None else "",
                    "better": winner,
                }
            )
        return rows

    def _prepare_quality_parts(self):
        self.ensure_one()
        labels = {
            "issue": self.env._("The invoices seen when issued"),
            "due": self.env._("The invoices seen on their due date, still open"),
        }
        parts = []
        for moment, label in labels.items():
            figures = (self.holdout_breakdown or {}).get(moment)
            if not figures:
                continue
            rows = []
            for name, figure_label, number_format, _better in self._get_quality_figures()[:3]:
                values = [figures.get(predictor, {}).get(name) for predictor in ("model", "baseline")]
                rows.append(
                    {
                        "label": figure_label,
                        "model": number_format % values[0] if values[0] is not None else "",
                        "baseline": number_format % values[1] if values[1] is not None else "",
                    }
                )
            rows.insert(
                0,
                {
                    "label": self.env._("Invoices"),
                    "model": str(figures["baseline"]["rows"]),
                    "baseline": str(figures["baseline"]["rows"]),
                },
            )
            parts.append({"label": label, "rows": rows})
        return parts

    def _prepare_calibration_rows(self):
        self.ensure_one()
        calibration = self.calibration or {}
        model, baseline = calibration.get("model") or [], calibration.get("baseline") or []
        rows = []
        for decile in range(max(len(model), len(baseline))):
            row = {"decile": decile + 1}
            for name, lines in (("model", model), ("baseline", baseline)):
                predicted, observed = lines[decile][:2] if decile < len(lines) else ("", "")
                row[f"{name}_predicted"] = f"{predicted:.0%}" if predicted != "" else ""
                row[f"{name}_observed"] = f"{observed:.0%}" if observed != "" else ""
            rows.append(row)
        return rows

    def action_train(self):
        """Train in the background (a minute for a large ledger): the
        nightly scheduled action, now."""
        self.env.ref("collections_automation_score.ir_cron_collection_score_train")._trigger()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": self.env._("The payment score is training: it shows here in a few minutes."),
            },
        }

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------

    @api.model
    def _train(self, company, today=None):
        """Train ``company``'s score on its ledger until ``today``, measure it
        on the last HOLDOUT_DAYS, and keep the training; returns it."""
        started = time.monotonic()
        today = today or company._get_collection_today()
        ledger = read_ledger(self.env, company)
        values, margin = self._measure_on_holdout(ledger, today)
        predictor, everything = self._fit_predictors(
            ledger,
            today,
            with_model="model" in (values["late_predictor"], values["date_predictor"]),
            margin=margin,
        )
        payload = pickle.dumps(predictor, protocol=pickle.HIGHEST_PROTOCOL)
        # Only the training writes the payload; nobody edits it.
        training = self.sudo().create(
            {
                **values,
                "company_id": company.id,
                "as_of": today,
                "invoice_count": len(np.unique(everything)),
                "customer_count": len(np.unique(ledger.partner_ids[everything])),
                "duration": time.monotonic() - started,
                "payload": base64.b64encode(payload),
                "payload_signature": hmac(self.env, _PAYLOAD_SCOPE, payload),
            }
        )
        return training.sudo(False)

    @api.model
    def _measure_on_holdout(self, ledger, today):
        """Learn from the ledger until HOLDOUT_DAYS before ``today``, measure
        the model and the baseline on the invoices after, and choose which
        predicts. (the training's values, the margin that makes the model's
        interval hold 80% of the held-out pay dates)"""
        split = today - timedelta(days=HOLDOUT_DAYS)
        as_of, split_day = to_day(today), to_day(split)
        training, train_moments = learner.moments_of(
            ledger, learner.labelled_indexes(ledger, _FIRST_DAY, split_day)
        )
        train_late, train_delays = learner.labels(ledger, training, split_day)
        held_out, held_moments = learner.moments_of(
            ledger, learner.labelled_indexes(ledger, split_day, as_of)
        )
        held_late, held_delays = learner.labels(ledger, held_out, as_of)
        train_features = build_features(ledger, Rows.of_ledger(ledger, training, train_moments))
        held_features = build_features(ledger, Rows.of_ledger(ledger, held_out, held_moments))
        at_due = held_moments == ledger.due_days[held_out]
        moments = {"issue": ~at_due, "due": at_due}

        def measure(predictor):
            overall = learner.evaluate(predictor, held_features, held_late, held_delays)
            parts = {
                moment: learner.evaluate(
                    predictor, held_features[mask], held_late[mask], held_delays[mask]
                ).as_dict()
                for moment, mask in moments.items()
            }
            return overall, parts

        baseline = learner.Baseline.fit(train_features, train_late, train_delays)
        baseline_quality, baseline_parts = measure(baseline)
        values = {
            "holdout_from": split,
            "holdout_rows": baseline_quality.rows,
            "holdout_late_rows": baseline_quality.late_rows,
            "baseline_auc": _figure(baseline_quality.auc),
            "baseline_brier": _figure(baseline_quality.brier),
            "baseline_date_error": _figure(baseline_quality.date_error),
            "late_predictor": "baseline",
            "date_predictor": "baseline",
            "predictor_reason": "little_history",
            "calibration": {"baseline": baseline_quality.calibration},
            "holdout_breakdown": {moment: {"baseline": part} for moment, part in baseline_parts.items()},
        }
        enough = learner.enough(
            train_late, learner.MIN_TRAINING_ROWS, learner.MIN_TRAINING_CLASS
        ) and learner.enough(held_late, learner.MIN_HOLDOUT_ROWS, learner.MIN_HOLDOUT_CLASS)
        if not enough:
            return values, 0.0
        model = learner.Model.fit(train_features, train_late, train_delays)
        # The held-out months calibrate the interval of the model learned
        # from everything (split conformal calibration, no model fitted
        # again). The coverage shown is measured on their later half, with
        # the margin calibrated on the earlier half.
        waited = (as_of - ledger.due_days[held_out]).astype(np.float64)
        margin = learner.interval_margin(model, held_features, held_delays, waited)
        earlier = held_moments < np.median(held_moments)
        model.margin = learner.interval_margin(
            model, held_features[earlier], held_delays[earlier], waited[earlier]
        )
        later_paid = ~earlier & ~np.isnan(held_delays)
        coverage = learner.interval_coverage(model, held_features[later_paid], held_delays[later_paid])
        quality, parts = measure(model)
        values["calibration"]["model"] = quality.calibration
        for moment, part in parts.items():
            values["holdout_breakdown"][moment]["model"] = part
        late_better = quality.auc > baseline_quality.auc and quality.brier <= baseline_quality.brier
        date_better = quality.date_error < baseline_quality.date_error
        values.update(
            model_auc=_figure(quality.auc),
            model_brier=_figure(quality.brier),
            model_date_error=_figure(quality.date_error),
            model_interval_coverage=_figure(coverage),
            late_predictor="model" if late_better else "baseline",
            date_predictor="model" if date_better else "baseline",
            predictor_reason="better" if late_better else "worse",
        )
        return values, margin

    @api.model
    def _fit_predictors(self, ledger, today, with_model, margin=0.0):
        """The predictors learned from the whole ledger until ``today`` (the
        held-out months too, once measured): the baseline, the remaining
        wait of late invoices, and the model ``with_model``, its interval
        widened by ``margin`` days on each side; and the rows they learned
        from."""
        everything, moments = learner.moments_of(
            ledger, learner.labelled_indexes(ledger, _FIRST_DAY, to_day(today))
        )
        late, delays = learner.labels(ledger, everything, to_day(today))
        features = build_features(ledger, Rows.of_ledger(ledger, everything, moments))
        predictor = {
            "baseline": learner.Baseline.fit(features, late, delays),
            "remaining": learner.remaining_quantiles(delays[~np.isnan(delays)]),
        }
        if with_model:
            predictor["model"] = learner.Model.fit(features, late, delays, margin)
        return predictor, everything

    def _load_predictors(self):
        """{"baseline": Baseline, "model": Model (when one was kept)}."""
        self.ensure_one()
        record = self.sudo()
        payload = base64.b64decode(record.payload or b"")
        if not payload or hmac(self.env, _PAYLOAD_SCOPE, payload) != record.payload_signature:
            _logger.warning("The payment score training %s is unsigned or altered: not loaded", self.id)
            return {}
        return pickle.loads(payload)  # signed above with the database secret

    # ------------------------------------------------------------------
    # Scoring
    # ------------------------------------------------------------------

    @api.model
    def _get_current(self, company):
        return self.search([("company_id", "=", company.id)], limit=1)

    @api.model
    def _score_customers(self, company, partners=None, today=None):
        """Score the open invoices of ``company`` and its customers (those of
        ``partners`` only, when given) on ``today`` (the company's) with its
        current training (trained first if it has none). False when another
        scoring of the company was under way: nothing was scored."""
        # The score is the company's: written by the system for everyone
        # who reads it, whoever's action triggered it.
        return self.sudo()._score_company_customers(
            company, partners, today or company._get_collection_today()
        )

    @api.model
    def _score_company_customers(self, company, partners, today):
        # Two scorings of a company at once (the nightly one, the one of the
        # customers marked since) would both create a new invoice's score.
        # Waiting would not help: Odoo's transactions see the database as it
        # was when they began, without the scores the other one created. The
        # second gives way.
        locked = self.env.execute_query(
            SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", SCORING_LOCK, company.id)
        )[0][0]
        if not locked:
            return False
        training = self._get_current(company) or self._train(company, today)
        predictors = training._load_predictors()
        if not predictors:
            return True
        ledger = read_ledger(self.env, company, partners.commercial_partner_id.ids if partners else None)
        if not len(ledger):
            self._save_invoice_scores(company, partners, {})
            self._save_customer_scores(company, partners, {}, today)
            return True
        late = predictors.get(training.late_predictor) or predictors["baseline"]
        dates = predictors.get(training.date_predictor) or predictors["baseline"]
        # The customers' typical next invoices and their open ones, seen
        # today: their features and probabilities serve the invoices' scores
        # and the customers'.
        today_day = to_day(today)
        typical = self._typical_rows(ledger, today_day)
        open_indexes = ledger.open_indexes()
        open_rows = Rows.of_ledger(ledger, open_indexes, moments=np.full(len(open_indexes), today_day))
        rows = typical.followed_by(open_rows)
        features = build_features(ledger, rows)
        probability = late.late_probability(features)
        invoices = slice(len(typical), len(rows))
        scores = self._compute_invoice_scores(
            ledger,
            open_rows,
            features[invoices],
            probability[invoices],
            dates,
            predictors["remaining"],
            today,
        )
        self._save_invoice_scores(company, partners, scores)
        customer_scores = self._compute_customer_scores(company, typical, rows, features, probability, late)
        self._save_customer_scores(company, partners, customer_scores, today)
        return True

    @api.model
    def _compute_invoice_scores(self, ledger, rows, features, probability, dates, remaining, today):
        """{invoice id: its score's values} of ``rows``, the ledger's open
        invoices seen today, given their ``features`` and the model's
        ``probability`` of their paying late."""
        today_day = to_day(today)
        overdue = today_day - rows.due_days.astype(np.int64)
        # Fifteen days overdue and unpaid, it is paid late: not a forecast.
        probability = np.where(overdue >= LATE_DAYS, 1.0, probability)
        pay_days = self._predict_pay_days(dates, features, rows.due_days, overdue, remaining, today_day)
        move_ids = ledger.move_ids[rows.own].tolist()
        return {
            move_id: {
                "late_probability": round(float(chance), 4),
                "pay_date_from": _to_date(first),
                "predicted_pay_date": _to_date(middle),
                "pay_date_to": _to_date(last),
            }
            for move_id, chance, (first, middle, last) in zip(move_ids, probability, pay_days, strict=True)
        }

    @api.model
    def _save_invoice_scores(self, company, partners, scores):
        """Keep ``scores`` ({invoice id: score values}) as the invoice scores
        of ``company`` (of ``partners``' invoices only, when given): the
        others' go (paid, cancelled, back to draft)."""
        domain = Domain("company_id", "=", company.id)
        if partners:
            domain &= Domain("move_id.commercial_partner_id", "in", partners.commercial_partner_id.ids)
        self._save_scores(
            "collection.invoice.score", "move_id", domain, scores, shared={"company_id": company.id}
        )

    @api.model
    def _save_customer_scores(self, company, partners, scores, today):
        """Keep ``scores`` ({commercial partner id: score values}) as the
        customer scores of ``company`` on ``today`` (of ``partners`` only,
        when given): those of customers left with no invoice go."""
        domain = Domain("company_id", "=", company.id)
        if partners:
            domain &= Domain("partner_id", "in", partners.commercial_partner_id.ids)
        self._save_scores(
            "collection.customer.score",
            "partner_id",
            domain,
            scores,
            shared={"company_id": company.id, "score_date": today},
        )

    @api.model
    def _save_scores(self, model_name, key, domain, scores, shared=None):
        """Make the records of ``model_name`` within ``domain`` hold
        ``scores`` ({``key`` id: values}) and the ``shared`` values: the
        others go. Only the values that changed are written (measured on
        2,000 invoices: writing each changed score, 1.1 s; deleting and
        inserting them all, 1.6 s), each of which has the records that
        depend on it computed again; the shared ones, in one write."""
        Score = self.env[model_name]
        shared = shared or {}
        names = list(next(iter(scores.values()), {}))
        saved = Score.search_fetch(domain, [key, *names, *shared])
        kept = saved.filtered(lambda score: score[key].id in scores)
        (saved - kept).unlink()

        def differs(score, values):
            return {name: value for name, value in values.items() if _write_value(score, name) != value}

        for score in kept:
            if changed := differs(score, scores[score[key].id]):
                score.write(changed)
        kept.filtered(lambda score: differs(score, shared)).write(shared)
        known = set(kept[key].ids)
        Score.create(
            [
                {key: record_id, **shared, **values}
                for record_id, values in scores.items()
                if record_id not in known
            ]
        )

    @api.model
    def _predict_pay_days(self, dates, features, due_days, overdue, remaining, today_day):
        """(from, predicted, to) pay day of each row. Once its predicted day
        has passed, an invoice is expected as the company's invoices that were
        as late took to be paid."""
        if not len(features):
            return np.zeros((0, 3), dtype=np.int64)
        quantiles = dates.delay_quantiles(features)
        days = due_days.astype(np.int64)[:, None] + np.rint(quantiles).astype(np.int64)
        passed = days[:, 1] < today_day
        waited = np.clip(overdue, 0, len(remaining) - 1)
        days[passed] = today_day + np.ceil(remaining[waited[passed]]).astype(np.int64)
        days = np.maximum(days, today_day)
        days[:, 2] = np.maximum(days[:, 2], days[:, 1])
        return days

    @api.model
    def _compute_customer_scores(self, company, typical, rows, features, probability, late):
        """{commercial partner id: its score's values} of the customers of
        ``typical``, the ledger's customers' next typical invoices, from
        ``rows`` (these, then any others of theirs), their ``features`` and
        the model's ``probability`` of their paying late. Each customer's
        probability is its riskiest invoice's: an open one, or the next one
        like its usual (so a customer with nothing due has a score too)."""
        partner_ids = typical.partner_ids
        riskiest = {}
        for row, partner_id in enumerate(rows.partner_ids.tolist()):
            if partner_id not in riskiest or probability[row] > probability[riskiest[partner_id]]:
                riskiest[partner_id] = row
        chosen = np.array([riskiest[partner_id] for partner_id in partner_ids.tolist()])
        effects = learner.group_effects(late, features[chosen]) if isinstance(late, learner.Model) else {}
        currency = company.currency_id
        scores = {}
        for position, (partner_id, row) in enumerate(zip(partner_ids.tolist(), chosen, strict=True)):
            groups = factors.pick_groups(effects, position) if effects else [("history", 0.0)]
            lines = [
                factors.describe(self.env, currency, group, features[row], rows.amounts[row])
                for group, _effect in groups
            ]
            # To the hundredth, as shown: a customer's probability moves a
            # little every day, and each change has the customer's
            # collections computed again.
            scores[partner_id] = {
                "late_probability": round(float(probability[row]), 2),
                "computed_band": band_of(probability[row]),
                "factors": "\n".join(line for line in lines if line),
            }
        return scores

    @api.model
    def _typical_rows(self, ledger, today_day):
        """Per customer of the ledger (in the order of their ids), the
        invoice it would get today: the median amount and payment terms of
        its last TYPICAL_INVOICES invoices."""
        partner_ids, starts = np.unique(ledger.partner_ids, return_index=True)
        ends = np.r_[starts[1:], len(ledger)]
        amounts, terms = [], []
        for start, end in zip(starts, ends, strict=True):
            recent = slice(max(start, end - TYPICAL_INVOICES), end)
            amounts.append(np.median(ledger.amounts[recent]))
            terms.append(np.median(ledger.due_days[recent].astype(np.int64) - ledger.invoice_days[recent]))
        count = len(partner_ids)
        return Rows(
            partner_ids=partner_ids,
            amounts=np.array(amounts),
            invoice_days=np.full(count, today_day, dtype=np.int32),
            due_days=(today_day + np.rint(terms)).astype(np.int32),
            moments=np.full(count, today_day, dtype=np.int32),
            own=np.full(count, -1, dtype=np.int64),
        )

    # ------------------------------------------------------------------
    # Scheduled actions
    # ------------------------------------------------------------------

    @api.model
    def _get_companies_to_score(self, partners=None):
        """The companies with posted customer invoices (of ``partners``,
        when given, or a score of theirs to update)."""
        if partners is None:
            return self._get_invoicing_companies(Domain.TRUE)
        scored = (
            self.env["collection.customer.score"]
            .sudo()
            ._read_group([("partner_id", "in", partners.ids)], groupby=["company_id"])
        )
        invoicing = self._get_invoicing_companies(Domain("commercial_partner_id", "in", partners.ids))
        return invoicing | self.env["res.company"].browse(company.id for (company,) in scored)

    @api.model
    def _get_invoicing_companies(self, domain):
        """The companies with posted customer invoices within ``domain``."""
        domain &= Domain([("move_type", "=", "out_invoice"), ("state", "=", "posted")])
        groups = self.env["account.move"].sudo()._read_group(domain, groupby=["company_id"])
        return self.env["res.company"].browse(company.id for (company,) in groups)

    @api.model
    def _cron_train(self):
        """Train each company's score on its ledger, score all its customers
        with it, and keep the week's cash-in forecast."""
        for company in self._get_companies_to_score():
            # One company's failure leaves the others' scores current.
            try:
                with self.env.cr.savepoint():
                    self._train(company)
                    if not self._score_customers(company):
                        _logger.info(
                            "The customers of %s were being scored: the new training scores them from "
                            "their next change",
                            company.display_name,
                        )
                    self.env["collection.score.forecast"].sudo()._refresh(
                        company, company._get_collection_today()
                    )
            except Exception:  # logged, and the next company's turn comes
                _logger.exception("The payment score of %s could not be trained", company.display_name)

    @api.model
    def _cron_score_customers(self, limit=1000):
        """Score again the customers whose history changed (a new invoice, a
        payment, a credit note), ``limit`` at a time."""
        Partner = self.env["res.partner"].sudo()
        in_cron = bool(self.env.context.get("cron_id"))
        while partners := Partner.search([("collection_score_stale", "=", True)], limit=limit):
            scored = [
                self._score_customers(company, partners) for company in self._get_companies_to_score(partners)
            ]
            if not all(scored):
                # The nightly scoring of one of their companies is under way:
                # these customers stay marked for a run after it.
                self.env.ref("collections_automation_score.ir_cron_collection_score_customers")._trigger(
                    fields.Datetime.now() + timedelta(minutes=_BUSY_RETRY_MINUTES)
                )
                return
            partners.collection_score_stale = False
            if in_cron:
                remaining = Partner.search_count([("collection_score_stale", "=", True)])
                if not self.env["ir.cron"]._commit_progress(len(partners), remaining=remaining):
                    return


def _write_value(record, name):
    """``record``'s value of ``name`` as ``write`` takes it."""
    value = record[name]
    return value.id if record._fields[name].type == "many2one" else value


def _figure(value):
    """A measure for a float field: 0 when it could not be measured (NaN)."""
    return 0.0 if np.isnan(value) else float(value)


def _to_date(day):
    """The date of a day number (ledger.to_day's inverse)."""
    return _EPOCH + timedelta(days=int(day))
