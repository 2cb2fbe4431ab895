"""The organisation tree: configurable levels and units with a materialised path."""

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet


class Level(models.Model):
    """A rung of the organisation's ladder (state, district, booth…); data, not code, so a union
    or a cooperative can use its own ladder."""

    slug = models.SlugField(_("slug"), max_length=40, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=80)
    name_hi = models.CharField(_("name (Hindi)"), max_length=80)
    depth = models.PositiveSmallIntegerField(_("depth"), unique=True, help_text=_("1 is the top"))

    class Meta:
        ordering = ["depth"]
        verbose_name = _("level")
        verbose_name_plural = _("levels")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name_hi if (get_language() or "hi").startswith("hi") else self.name_en


class OrgUnitQuerySet(MP_NodeQuerySet):
    def within(self, unit: "OrgUnit") -> "OrgUnitQuerySet":
        """The unit and everything below it: one index range scan on ``path``."""
        return self.filter(path__under=unit.path)

    def below(self, unit: "OrgUnit") -> "OrgUnitQuerySet":
        return self.filter(path__under=unit.path, depth__gt=unit.depth)

    def at_level(self, slug: str) -> "OrgUnitQuerySet":
        return self.filter(level__slug=slug)

    def visible_to(self, user) -> "OrgUnitQuerySet":
        from sangathan.org.scoping import jurisdiction_for

        return jurisdiction_for(user).filter(self, "path")


class OrgUnitManager(MP_NodeManager.from_queryset(OrgUnitQuerySet)):
    def get_queryset(self):
        return OrgUnitQuerySet(self.model, using=self._db).order_by("path")


class OrgUnit(MP_Node):
    """A unit of the organisation (a state office, a district, an assembly constituency, a
    booth). Its ``path`` is a materialised path: a subtree is one index range, ancestors are
    path prefixes. Counts over the whole subtree are maintained here so that any page reads
    them without scanning."""

    steplen = 4
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    node_order_by = []

    level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="units")
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=255, help_text=_("as written"))
    name_en = models.CharField(_("name (English)"), max_length=255, blank=True)
    name_hi = models.CharField(_("name (Hindi)"), max_length=255, blank=True)
    # Electoral geography keys, where the unit is tied to one.
    lgd_code = models.CharField(_("LGD code"), max_length=16, blank=True)
    ac_no = models.PositiveIntegerField(_("AC number"), null=True, blank=True)
    pc_no = models.PositiveIntegerField(_("PC number"), null=True, blank=True)
    pc_name = models.CharField(_("parliamentary constituency"), max_length=120, blank=True)
    ps_no = models.CharField(_("polling station number"), max_length=8, blank=True)
    reserved = models.CharField(_("reserved for"), max_length=8, blank=True)
    electors = models.PositiveIntegerField(_("electors"), null=True, blank=True)
    polling_location = models.ForeignKey(
        "PollingLocation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stations",
        verbose_name=_("polling location"),
    )
    # Maintained aggregates over the whole subtree (this unit and all below it).
    people_count = models.PositiveIntegerField(default=0)
    seats_total = models.PositiveIntegerField(default=0)
    seats_filled = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgUnitManager()

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        indexes = [
            models.Index(fields=["level", "path"]),
            # children of a unit: depth = d + 1 within the path range, without walking the
            # whole subtree (the nation's children would otherwise read every booth)
            models.Index(fields=["depth", "path"]),
            models.Index(fields=["ac_no"]),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if (get_language() or "hi").startswith("hi"):
            return self.name_hi or self.name
        return self.name_en or self.name

    @property
    def vacancies(self) -> int:
        return max(self.seats_total - self.seats_filled, 0)

    def ancestor_paths(self) -> list[str]:
        """Paths of this unit and every ancestor, top first."""
        return [self.path[:i] for i in range(self.steplen, len(self.path) + 1, self.steplen)]

    def is_within(self, other: "OrgUnit") -> bool:
        return self.path.startswith(other.path)


class PollingLocation(models.Model):
    """A building (a school, a panchayat bhawan) that houses one or more polling stations.
    ECI keeps the two apart; so do we."""

    assembly = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(_("building"), max_length=255)
    locality = models.CharField(_("locality"), max_length=255, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("polling location")
        verbose_name_plural = _("polling locations")
        constraints = [
            models.UniqueConstraint(
                fields=["assembly", "name", "locality"], name="unique_location_per_ac"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.locality}" if self.locality else self.name


class UnitMove(models.Model):
    """History of a reorganisation: a subtree moved from one parent to another."""

    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="moves")
    old_parent = models.ForeignKey(OrgUnit, on_delete=models.SET_NULL, null=True, related_name="+")
    new_parent = models.ForeignKey(OrgUnit, on_delete=models.SET_NULL, null=True, related_name="+")
    old_path = models.CharField(max_length=255)
    new_path = models.CharField(max_length=255)
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    moved_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-moved_at"]
        verbose_name = _("unit move")
        verbose_name_plural = _("unit moves")

    def __str__(self) -> str:
        return f"{self.unit} moved {self.old_path} → {self.new_path}"
