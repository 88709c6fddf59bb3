using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class JobEventsPending : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "events_pending",
                table: "jobs",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.CreateIndex(
                name: "ix_jobs_events_pending",
                table: "jobs",
                column: "created_at",
                filter: "events_pending <> 0");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_jobs_events_pending",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "events_pending",
                table: "jobs");
        }
    }
}
