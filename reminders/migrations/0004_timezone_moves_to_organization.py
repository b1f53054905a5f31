"""The time zone moves from the reminder settings onto the organization (accounts 0006): it is the
one "today" of every page, not only of the reminder scan. The copy runs per organization with
`app.organization_id` set, so it also works where row-level security binds the migrating role."""

from django.db import migrations

_COPY = """
DO $$
DECLARE o record; tz text;
BEGIN
  FOR o IN SELECT id FROM accounts_organization LOOP
    PERFORM set_config('app.organization_id', o.id::text, true);
    SELECT {src} INTO tz FROM reminders_remindersettings rs JOIN accounts_organization org
        ON org.id = rs.organization_id WHERE rs.organization_id = o.id;
    IF tz IS NOT NULL THEN
      {update};
    END IF;
  END LOOP;
  PERFORM set_config('app.organization_id', '', true);
END $$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_organization_timezone'),
        ('reminders', '0003_scan_schedule'),
    ]

    operations = [
        migrations.RunSQL(
            sql=_COPY.format(src="rs.timezone",
                             update="UPDATE accounts_organization SET timezone = tz WHERE id = o.id"),
            reverse_sql=_COPY.format(src="org.timezone",
                                     update="UPDATE reminders_remindersettings SET timezone = tz "
                                            "WHERE organization_id = o.id"),
        ),
        migrations.RemoveField(
            model_name='remindersettings',
            name='timezone',
        ),
    ]
